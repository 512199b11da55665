import DPFSyntax
import DPFWire
import FuzzSupport

/// Filter text straight from the input through the whole compiler (parser, analyser, trie,
/// lowering, verifier) and the interpreter over fixed packets. Diagnostics are fine; a crash, a
/// lowered program the verifier refuses, or engines that disagree are findings.
@_cdecl("FuzzFilterText_main")
public func fuzzFilterTextMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    LibFuzzer.run(argc, argv) { data, size in
        let bytes = LibFuzzer.bytes(data, size)
        let source = SourceFile(name: "fuzz.dpf", bytes: bytes)
        guard let compiled = Pipeline.compile(source, linkType: .ethernet) else { return 0 }
        Pipeline.run(compiled.interpreter, over: FixedPackets.all)
        Pipeline.checkAgreement(
            compiled, on: FixedPackets.all, filters: String(decoding: bytes, as: UTF8.self))
        return 0
    }
}
