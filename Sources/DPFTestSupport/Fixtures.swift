/// Paths to the project's files and to the shared corpus beside the checkout.
public enum Fixtures {
    /// The package root, found from this file's compile-time path.
    public static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)  // Sources/DPFTestSupport/Fixtures.swift
        return parts.joined(separator: "/")
    }()

    public static let filtersDirectory = packageRoot + "/filters"

    /// `../shared/corpus` beside the checkout, or `DPF_CORPUS` if set.
    public static var corpusDirectory: String {
        if let override = getEnvironment("DPF_CORPUS") { return override }
        var parts = packageRoot.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast()
        return parts.joined(separator: "/") + "/shared/corpus"
    }

    public static func getEnvironment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
