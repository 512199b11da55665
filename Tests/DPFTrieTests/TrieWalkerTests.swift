import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// The trie walker gives exactly the delivery rule's verdict computed from the reference evaluator.
@Suite struct TrieWalkerTests {
    /// Installs what the trie accepts (authorized over every filter installed before, so only
    /// ties are refused).
    static func build(_ filters: [RandomFilterSets.Entry]) -> (
        DecisionTrie, installed: [RandomFilterSets.Entry]
    ) {
        let trie = DecisionTrie()
        var granted: Set<FilterID> = []
        var installed: [RandomFilterSets.Entry] = []
        for filter in filters {
            do {
                granted.insert(
                    try trie.insert(
                        name: filter.name, app: filter.app, priority: filter.priority, isTap: filter.isTap,
                        tree: filter.tree, authorizedOver: granted))
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
        let web = try trie.insert(
            name: "web.http", app: "web", priority: 10, tree: RandomFilterSets.tree("tcp.dport == 80"))
        try trie.insert(
            name: "dns.1", app: "dns", tree: RandomFilterSets.tree("udp.dport == 53 or udp.sport == 53"))
        try trie.insert(name: "sniffer.all", app: "sniffer", isTap: true, tree: RandomFilterSets.tree("ip4"))
        try trie.insert(
            name: "farm.http", app: "farm", priority: 10,
            tree: RandomFilterSets.tree("tcp.dport == 80 and ip4.dst in 10.1.0.0/16"),
            authorizedOver: [web])
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

    /// Installs `(name, app, priority, isTap, expression)` rows, each authorized over every filter
    /// before it; all must be accepted.
    static func install(_ rows: [(String, String, Int, Bool, String)]) throws -> DecisionTrie {
        let trie = DecisionTrie()
        var granted: Set<FilterID> = []
        for (name, app, priority, isTap, text) in rows {
            granted.insert(
                try trie.insert(
                    name: name, app: app, priority: priority, isTap: isTap, tree: RandomFilterSets.tree(text),
                    authorizedOver: granted))
        }
        return trie
    }

    /// A trie whose walks branch: the IPv4 node tests the protocol, both addresses and the TTL
    /// (several groups, equality and range edges), taps match alongside owners, and a tap with
    /// two paths can match twice. Every verdict is the delivery rule's.
    @Test func branchingWalkAgreesWithReferenceDelivery() throws {
        var rows: [(String, String, Int, Bool, String)] = []
        for port in RandomPackets.ports {
            rows.append(("tcp\(port).1", "tcp\(port)", 0, false, "tcp.dport == \(port)"))
            rows.append(("udp\(port).1", "udp\(port)", 0, false, "udp.dport == \(port)"))
        }
        rows += [
            ("src.local", "src", 1, false, "ip4.src == 10.0.0.1"),
            ("src.home", "src", 1, false, "ip4.src in 192.168.0.0/16"),
            ("ttl.low", "ttl", 2, false, "ip4.ttl < 32"),
            ("sniff.ip4", "sniff", 0, true, "ip4"),
            ("sniff.web", "sniff", 0, true, "tcp.dport == 80 or tcp.sport == 80"),
            ("sniff.net", "sniff", 0, true, "ip4.dst in 10.0.0.0/8"),
            ("sniff.nottcp", "sniff", 0, true, "not tcp"),
            ("sniff.v6", "sniff", 0, true, "ip6"),
        ]
        let trie = try TrieWalkerTests.install(rows)

        // Some node really has several groups to follow.
        var widest = 0
        var nodes = [DecisionTrie.rootNode]
        while let node = nodes.popLast() {
            let view = trie.view(of: node)
            widest = max(widest, view.groups.count)
            for group in view.groups { nodes += group.equalities.map(\.child) + group.others.map(\.child) }
        }
        #expect(widest >= 3)

        var random = RandomPackets(seed: 17)
        var packets = random.batch(3000)
        for ttl: UInt8 in [1, 31, 32, 64, 255] {
            for src in [IPv4Address(10, 0, 0, 1), IPv4Address(192, 168, 3, 4), IPv4Address(192, 0, 2, 7)] {
                for dst in [IPv4Address(10, 9, 8, 7), IPv4Address(172, 16, 0, 1)] {
                    let ip = PacketBuilder.ethernet().ipv4(src: src, dst: dst, ttl: ttl)
                    packets.append(ip.tcp(sourcePort: 80, destinationPort: 80).packet)
                    packets.append(ip.udp(sourcePort: 9, destinationPort: 53).packet)
                }
            }
        }
        let delivery = ReferenceDelivery(trie)
        var mostTaps = 0
        var ownedWithTaps = 0
        for (index, packet) in packets.enumerated() {
            let actual = trie.verdict(for: packet)
            let expected = delivery.verdict(for: packet)
            #expect(actual == expected, "packet \(index)")
            if actual != expected { return }
            mostTaps = max(mostTaps, actual.taps.count)
            if actual.owner != nil && !actual.taps.isEmpty { ownedWithTaps += 1 }
        }
        #expect(mostTaps >= 3)
        #expect(ownedWithTaps > 0)
    }

    /// One node whose 252 range and `!=` edges hold together (TTL 255): the walk's stack of pending
    /// nodes and its list of taps both outgrow their inline capacity, and the verdict stays the
    /// delivery rule's.
    @Test func wideFanOutOutgrowsTheInlineScratch() throws {
        // Installed first, so its two edges are the walk's last: both hold at TTL 220, after the
        // taps have moved to the heap.
        var rows: [(String, String, Int, Bool, String)] = [
            ("twice", "twice", 0, true, "ip4.ttl > 200 or ip4.ttl < 250")
        ]
        for bound in 0..<150 { rows.append(("above\(bound)", "ranges", bound, false, "ip4.ttl > \(bound)")) }
        for value in 0..<100 { rows.append(("tap\(value)", "tap\(value)", 0, true, "ip4.ttl != \(value)")) }
        let trie = try TrieWalkerTests.install(rows)
        let delivery = ReferenceDelivery(trie)
        let id = { (name: String) in trie.id(named: name)! }
        var packets: [Packet] = []
        for ttl: UInt8 in [0, 1, 2, 50, 99, 100, 101, 149, 150, 151, 200, 220, 255] {
            let packet = PacketBuilder.ethernet().ipv4(
                src: IPv4Address(192, 0, 2, 1), dst: IPv4Address(10, 0, 0, 2), ttl: ttl
            ).udp(sourcePort: 1, destinationPort: 2).packet
            packets += [packet, packet.truncated(to: 22), packet.truncated(to: 23)]
        }
        for packet in packets {
            #expect(trie.verdict(for: packet) == delivery.verdict(for: packet))
        }
        let full = trie.verdict(for: packets[packets.count - 3])
        #expect(full.owner == id("above149"))
        #expect(full.taps == ([id("twice")] + (0..<100).map { id("tap\($0)") }).sorted())
        let twice = trie.verdict(for: packets[packets.count - 6])
        #expect(twice.taps.filter { $0 == id("twice") }.count == 1)
    }

    /// Loads from shifted header bases, built directly (the language always guards them): three
    /// groups on one base, also on packets too short for its shift; 70 distinct bases; and keys
    /// freed and reused by removals. Every verdict is the delivery rule's.
    @Test func headerBasesAgreeWithReferenceDelivery() throws {
        let ihl = try HeaderBase([try Shift(offset: 14, width: 1, mask: 0x0f, scale: 2)])
        let trie = DecisionTrie()
        let exclusive: [(String, FilterTree)] = [
            ("ihl.top", .atom(try Atom(base: ihl, offset: 0, width: 1, mask: 0x80, value: 0x80))),
            ("ihl.word", .atom(try Atom(base: ihl, offset: 1, width: 2, relation: .greater, value: 0x1000))),
            ("ihl.not", .not(.atom(try Atom(base: ihl, offset: 3, width: 1, value: 0)))),
        ]
        for (priority, (name, tree)) in exclusive.enumerated() {
            try trie.insert(name: name, app: "ihl", priority: priority, tree: tree)
        }
        func byteTap(_ index: Int, mask: UInt32) throws -> FilterTree {
            let base = try HeaderBase([try Shift(offset: index, width: 1, mask: mask, scale: 0)])
            return .atom(try Atom(base: base, offset: 1, width: 1, relation: .less, value: 0x80))
        }
        for index in 0..<70 {
            try trie.insert(
                name: "byte\(index)", app: "byte\(index)", isTap: true, tree: try byteTap(index, mask: 0x0f))
        }
        var generator = SeededGenerator(seed: 5)
        let packets = (0..<600).map { _ in
            Packet(
                bytes: (0..<Int.random(in: 0..<90, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                })
        }
        // Taps on the last bases, which only long packets reach.
        let late = Set((64..<70).map { "byte\($0)" })
        func check() -> (owned: Int, tapped: Int) {
            let delivery = ReferenceDelivery(trie)
            var owned = 0
            var tapped = 0
            for packet in packets {
                let verdict = trie.verdict(for: packet)
                #expect(verdict == delivery.verdict(for: packet), "\(packet.bytes)")
                if verdict.owner != nil { owned += 1 }
                if verdict.taps.contains(where: { late.contains(trie.filter($0)!.name) }) { tapped += 1 }
            }
            return (owned, tapped)
        }
        let before = check()
        #expect(before.owned > 0 && before.tapped > 0)
        // Free a third of the keys and bases, then install taps whose new ones take their slots.
        for index in stride(from: 0, to: 70, by: 3) { try trie.remove(named: "byte\(index)") }
        try trie.remove(named: "ihl.word")
        for index in stride(from: 0, to: 70, by: 3) {
            try trie.insert(
                name: "again\(index)", app: "again\(index)", isTap: true, tree: try byteTap(index, mask: 0x07)
            )
        }
        let after = check()
        #expect(after.owned > 0 && after.tapped > 0)
    }
}
