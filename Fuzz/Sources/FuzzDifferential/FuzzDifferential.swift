import DPFSyntax
import DPFWire
import FuzzSupport

/// Differential: a link type, a filter file and packets drawn from the input (one byte per
/// choice); the reference evaluator's delivery, the trie walker and the bytecode interpreter must
/// give every packet the same owner and taps.
@_cdecl("FuzzDifferential_main")
public func fuzzDifferentialMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    LibFuzzer.run(argc, argv) { data, size in
        var tape = Tape(LibFuzzer.bytes(data, size))
        let linkType: LinkType =
            tape.chance(70) ? .ethernet : tape.pick([.linuxCooked, .raw, .ipv4, .ipv6])
        var filters = FilterFileGenerator(tape: tape, linkType: linkType)
        let text = filters.file()
        guard let compiled = Pipeline.compile(SourceFile(name: "fuzz.dpf", text: text), linkType: linkType)
        else { return 0 }
        var packets = PacketGenerator(tape: filters.tape, linkType: linkType)
        let generated = (0..<(1 + packets.tape.below(8))).map { _ in packets.next() }
        Pipeline.checkAgreement(compiled, on: generated, filters: text)
        return 0
    }
}
