import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// The trie walker gives exactly the delivery rule's verdict computed from the reference evaluator.
@Suite struct TrieWalkerTests {
    /// Installs what the trie accepts (presenting every guard, so only ties are refused).
    static func build(_ filters: [RandomFilterSets.Entry]) -> (
        DecisionTrie, installed: [RandomFilterSets.Entry]
    ) {
        let trie = DecisionTrie()
        var guards: [FilterGuard] = []
        var installed: [RandomFilterSets.Entry] = []
        for filter in filters {
            do {
                guards.append(
                    try trie.insert(
                        name: filter.name, app: filter.app, priority: filter.priority, isTap: filter.isTap,
                        tree: filter.tree, presenting: guards))
                installed.append(filter)
            } catch {
                #expect(error.kind == .tie || error.kind == .tooManyPaths, "\(error)")
            }
        }
        return (trie, installed)
    }

    @Test(arguments: [(1, 40), (2, 200), (3, 2000)])
    func walkerAgreesWithTheDeliveryRule(seed: UInt64, count: Int) throws {
        let (trie, installed) = TrieWalkerTests.build(
            try RandomFilterSets.make(seed: seed, count: count))
        #expect(installed.count > count / 4)
        var packets = RandomPackets(seed: seed + 100)
        let sample = packets.batch(1500)
        var owned = 0
        for (packet, expected) in zip(sample, trie.referenceVerdicts(for: sample)) {
            let actual = trie.verdict(for: packet)
            #expect(actual == expected)
            if actual != expected { return }
            if actual.owner != nil { owned += 1 }
        }
        #expect(owned > 0)
    }

    @Test func handBuiltDelivery() throws {
        let trie = DecisionTrie()
        let webGuard = try trie.insert(
            name: "web.http", app: "web", priority: 10, tree: RandomFilterSets.tree("tcp.dport == 80"))
        try trie.insert(
            name: "dns.1", app: "dns", tree: RandomFilterSets.tree("udp.dport == 53 or udp.sport == 53"))
        try trie.insert(name: "sniffer.all", app: "sniffer", isTap: true, tree: RandomFilterSets.tree("ip4"))
        try trie.insert(
            name: "farm.http", app: "farm", priority: 10,
            tree: RandomFilterSets.tree("tcp.dport == 80 and ip4.dst in 10.1.0.0/16"),
            presenting: [webGuard])
        let id = { (name: String) in trie.id(named: name)! }
        let http = { (dst: IPv4Address) in
            PacketBuilder.ethernet().ipv4(src: IPv4Address(192, 0, 2, 1), dst: dst).tcp(
                sourcePort: 1, destinationPort: 80
            ).packet
        }
        #expect(
            trie.verdict(for: http(IPv4Address(10, 1, 2, 3)))
                == Verdict(owner: id("farm.http"), taps: [id("sniffer.all")]))
        #expect(
            trie.verdict(for: http(IPv4Address(10, 2, 2, 3)))
                == Verdict(owner: id("web.http"), taps: [id("sniffer.all")]))
        let dns6 = PacketBuilder.ethernet().ipv6(src: IPv6Address("::1")!, dst: IPv6Address("::2")!).udp(
            sourcePort: 53, destinationPort: 9
        ).packet
        #expect(trie.verdict(for: dns6) == Verdict(owner: id("dns.1")))
        #expect(trie.verdict(for: Packet(bytes: [1, 2, 3])) == Verdict())
    }
}
