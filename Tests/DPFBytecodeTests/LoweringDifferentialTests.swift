import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// The interpreter running the lowered program gives exactly the trie walker's verdict (which the
/// trie tests tie to the reference evaluator), on random filter sets and random packets.
@Suite struct LoweringDifferentialTests {
    static func trie(_ entries: [RandomFilterSets.Entry]) -> DecisionTrie {
        let trie = DecisionTrie()
        var guards: [FilterGuard] = []
        for entry in entries {
            if let filterGuard = try? trie.insert(
                name: entry.name, app: entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree, presenting: guards)
            {
                guards.append(filterGuard)
            }
        }
        return trie
    }

    @Test(arguments: [(31, 30), (32, 300), (33, 2000)] as [(UInt64, Int)])
    func interpreterAgreesWithTheTrieWalker(seed: UInt64, count: Int) throws {
        let trie = LoweringDifferentialTests.trie(try RandomFilterSets.make(seed: seed, count: count))
        let interpreter = Interpreter(try Verifier.verify(try Lowering.lower(trie)))
        var packets = RandomPackets(seed: seed &+ 7)
        var owned = 0
        for packet in packets.batch(1500) {
            let walked = trie.verdict(for: packet)
            let ran = interpreter.run(packet.bytes)
            let expected = (walked.owner.map { UInt32($0.rawValue) }, walked.taps.map { UInt32($0.rawValue) })
            #expect(ran.owner == expected.0 && ran.taps == expected.1, "\(walked) vs \(ran)")
            if ran.owner != expected.0 || ran.taps != expected.1 { return }
            if ran.owner != nil { owned += 1 }
        }
        #expect(owned > 0)
    }

    @Test func portFiltersBecomeHashDispatch() throws {
        let trie = DecisionTrie()
        for port in 0..<1000 {
            try trie.insert(
                name: "p\(port)", app: "a\(port)", tree: RandomFilterSets.tree("tcp.dport == \(1024 + port)"))
        }
        let program = try Lowering.lower(trie)
        _ = try Verifier.verify(program)
        // One table for IPv4 and one for IPv6, each holding all 1,000 ports.
        #expect(program.tables.filter { $0.entries.count == 1000 }.count == 2)
        #expect(program.tables.allSatisfy { $0.collisionFree })
        #expect(program.registerCount == 2)
    }
}
