#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libFuzzer's entry point for programs that have their own `main` (SwiftPM names an executable's
/// entry `<Target>_main` and links `main` to it, so libFuzzer's own `main` is not the one used).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

public enum LibFuzzer {
    /// Hands the command line to libFuzzer, which calls `callback` with every input it tries.
    public static func run(
        _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32 {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, callback)
    }

    /// The input as an array (libFuzzer may pass a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Reports a finding and stops: libFuzzer catches the trap and saves the input as a crash file.
    public static func fail(_ message: String, context: String) -> Never {
        var report = Array("FUZZ FAILURE: \(message)\n\(context)\n".utf8)
        _ = report.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        fatalError(message)
    }
}
