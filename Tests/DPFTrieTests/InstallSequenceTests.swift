import DPFFilter
import DPFWire
import Testing

@testable import DPFTrie

/// The install sequence (and the id it doubles as) never wraps: once the delivery key's order
/// field is used up, installing is refused with a typed error, and the trie keeps working.
@Suite struct InstallSequenceTests {
    @Test func theLastOrderIsGivenOutThenInstallingIsRefused() throws {
        let trie = DecisionTrie()
        let tree = try FilterTree.atom(
            Atom(base: .packetStart, offset: 12, width: 2, relation: .equal, value: 1))
        trie.nextSequence = DeliveryKey.maximumOrder
        try trie.insert(name: "last", app: "a", tree: tree)
        #expect(trie.id(named: "last")?.rawValue == DeliveryKey.maximumOrder)
        let error = try #require(throws: TrieError.self) {
            try trie.insert(name: "more", app: "a", tree: tree)
        }
        #expect(error.kind == .exhausted)
        var packet = [UInt8](repeating: 0, count: 14)
        packet[13] = 1
        #expect(trie.verdict(bytes: packet).owner == trie.id(named: "last"))
        #expect(trie.referenceVerdicts(for: [Packet(bytes: packet)]).first?.owner == trie.id(named: "last"))
    }
}
