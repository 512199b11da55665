import DPFAnalysis
import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFTrie
import DPFWire
import Foundation
import Testing

/// Any bytes given as a filter file go through every stage a compile runs — parsing, analysis for
/// each link type, the trie, lowering, verification — and the program runs: diagnostics are fine,
/// a crash, a hang, a verifier refusal of compiled code or a disagreement with the trie walker is not.
@Suite struct PipelineRobustnessTests {
    static let seeds: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory)) ?? []
        let texts = files.filter { $0.hasSuffix(".dpf") }.sorted().compactMap {
            try? String(contentsOfFile: Fixtures.filtersDirectory + "/" + $0, encoding: .utf8)
        }
        return texts + [
            "app a { icmp4 or icmp6 or arp\n b: ip4.src in 10.0.0.0/8 or ip6 }\n",
            "app x-y tap { not (tcp.dport == 1 or tcp.dport == 2 or udp.sport == 3) }\n",
            "app v { vlan and vlan and (tcp.dport != 1 and tcp.dport != 2) }\n",
        ]
    }()

    @Test func seedsAreThere() {
        #expect(PipelineRobustnessTests.seeds.count >= 8, "filters/*.dpf should be readable")
    }

    @Test func randomAndMutatedFilesCompileOrAreDiagnosed() throws {
        var generator = SeededGenerator(seed: 91)
        var source = RandomPackets(seed: 92)
        var packets = source.batch(64)
        packets.append(
            contentsOf: [[], [0x08], Array(repeating: 0xFF, count: 200)].map { Packet(bytes: $0) })
        let deadline = Date().addingTimeInterval(3)
        var compiled = 0
        var inputs = 0
        while Date() < deadline {
            let seed = generator.pick(PipelineRobustnessTests.seeds)
            let words = [
                "and", "or", "not", "vlan", "tcp", "ip6", "tcp.dport", "==", "!=", "in", "0..9", "/8",
            ]
            let bytes =
                generator.chance(0.2) ? Array(seed.utf8) : generator.mutated(seed, edits: 6, words: words)
            let linkType = generator.pick(LinkType.allCases)
            inputs += 1
            if try compileAndRun(bytes, linkType: linkType, packets: packets) { compiled += 1 }
        }
        #expect(inputs > 50)
        #expect(compiled > 10, "only \(compiled) of \(inputs) inputs compiled")
    }

    /// The longest chains the parser lets through, on every link type.
    @Test(arguments: LinkType.allCases)
    func longestChainsCompile(linkType: LinkType) throws {
        let count = Parser.maximumTerms / 4
        let excluded = (0..<count).map { "tcp.dport != \($0)" }.joined(separator: " and ")
        let listed = (0..<count).map { "udp.sport == \($0)" }.joined(separator: " or ")
        let text = "app a {\n    \(excluded)\n}\napp b {\n    \(listed)\n}\n"
        var source = RandomPackets(seed: 5)
        let packets = source.batch(32)
        // The `or` chain has too many alternatives for the trie: a diagnostic, not a crash.
        #expect(try !compileAndRun(Array(text.utf8), linkType: linkType, packets: packets))
        let onlyExcluded = "app a {\n    \(excluded)\n}\n"
        #expect(try compileAndRun(Array(onlyExcluded.utf8), linkType: linkType, packets: packets))
    }

    /// `true` if the text compiled and its program agreed with the trie walker on every packet.
    func compileAndRun(_ bytes: [UInt8], linkType: LinkType, packets: [Packet]) throws -> Bool {
        let source = SourceFile(name: "fuzz", bytes: bytes)
        guard let file = try? Parser.parseFile(source),
            let analysis = try? SemanticAnalyzer.analyze([file], linkType: linkType)
        else { return false }
        let (trie, errors) = TrieBuilder.build(analysis.filterSet)
        guard errors.isEmpty else { return false }
        let program: Program
        do {
            program = try Lowering.lower(trie)
        } catch {
            return false
        }
        // Compiled code the verifier refuses is a compiler bug, not a user error.
        let interpreter = Interpreter(try Verifier.verify(program))
        let verdicts = ProgramVerdicts(interpreter)
        for packet in packets {
            let walked = trie.verdict(for: packet)
            let ran = verdicts.verdict(packet.bytes)
            if ran != walked {
                Issue.record("\(String(decoding: bytes, as: UTF8.self)): \(walked) vs \(ran)")
                return false
            }
        }
        return true
    }
}
