import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Foundation
import Testing

/// Interpreter, trie walker and the reference delivery rule agree on every Ethernet packet of the
/// capture corpus (skipped when ../shared/corpus is absent), for the example filters plus a few
/// hundred random ones.
@Suite struct CorpusEnginesTests {
    @Test(.enabled(if: Fixtures.hasCorpus, Fixtures.noCorpus)) func enginesAgreeOnTheCorpus() throws {
        let directory = Fixtures.corpusCaptures
        let trie = try GoldenBytecodeTests.examples()
        var granted: Set<FilterID> = []
        for entry in try RandomFilterSets.make(seed: 77, count: 300) {
            if let id = try? trie.insert(
                name: "r." + entry.name, app: "r" + entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree,
                authorizedOver: granted)
            {
                granted.insert(id)
            }
        }
        let interpreter = Interpreter(try Verifier.verify(try Lowering.lower(trie)))
        let verdicts = ProgramVerdicts(interpreter)
        let reference = ReferenceDelivery(trie)
        var packets = 0
        var owners = Set<FilterID>()
        var failures = 0
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String, failures < 3 {
            guard let reader = try? LibpcapReader(path: "\(directory)/\(relative)"),
                reader.linkType == .ethernet
            else { continue }
            while let packet = try? reader.nextPacket() {
                packets += 1
                let expected = reference.verdict(for: packet)
                let walked = trie.verdict(for: packet)
                let ran = verdicts.verdict(packet.bytes)
                if let owner = expected.owner { owners.insert(owner) }
                let agree = walked == expected && ran == expected
                if !agree {
                    failures += 1
                    Issue.record(
                        "\(relative) packet \(reader.recordsRead): reference \(expected), trie \(walked), bytecode \(ran)"
                    )
                }
            }
        }
        print("compared 3 engines on \(packets) corpus packets; \(owners.count) different filters own some")
        #expect(packets > 10_000)
        #expect(owners.count > 10)
    }
}
