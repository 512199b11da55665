import DPFTestSupport
import DPFTrie
import Testing

/// A filter of app `a` is installed, then one of app `b`: accepted, or refused with this message.
@Suite struct ConflictTableTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let first: String
        var firstPriority = 0
        let second: String
        var secondPriority = 0
        var secondIsTap = false
        var secondApp = "b"
        /// Whether the second filter is authorized over the first (its installer holds its guard).
        var authorized = false
        /// `nil` when the second filter is accepted.
        let refusal: String?
        var testDescription: String { "\(first) / \(second)" }
    }

    static let cases: [Case] = [
        Case(
            first: "tcp.dport == 80", second: "tcp.dport == 80",
            refusal:
                "filter 'b.f' is identical to filter 'a.f' of app 'a' at the same priority 0; give one of them a different priority"
        ),
        Case(first: "tcp.dport == 80", second: "tcp.dport == 443", refusal: nil),
        Case(
            first: "tcp.dport == 80", second: "tcp.dport == 80 and ip4.src == 10.0.0.1",
            refusal:
                "filter 'b.f' would take packets from filter 'a.f' of app 'a': it overlaps it and is more specific (85 > 53 header bits); app 'a' must grant it"
        ),
        Case(first: "tcp.dport == 80 and ip4.src == 10.0.0.1", second: "tcp.dport == 80", refusal: nil),
        Case(
            first: "udp", second: "udp.dport == 53", secondPriority: 5,
            refusal:
                "filter 'b.f' would take packets from filter 'a.f' of app 'a': it overlaps it and has a higher priority (5 > 0); app 'a' must grant it"
        ),
        Case(first: "udp.dport == 53", firstPriority: 5, second: "udp", refusal: nil),
        Case(
            first: "ip4.src in 10.0.0.0/8", second: "ip4.dst in 10.0.0.0/8",
            refusal:
                "filter 'b.f' overlaps filter 'a.f' of app 'a' with the same priority 0 and specificity 24, so neither would own the packets both match; give one of them a different priority"
        ),
        Case(first: "vlan.id == 100", second: "vlan.id == 200", refusal: nil),
        Case(first: "tcp.dport == 80", second: "tcp.dport == 80 and ip4", secondIsTap: true, refusal: nil),
        Case(first: "tcp.dport == 80", second: "tcp.dport == 80 and ip4", secondApp: "a", refusal: nil),
        Case(
            first: "tcp.dport == 80", second: "tcp.dport == 80 and ip4.src == 10.0.0.1", authorized: true,
            refusal: nil),
        Case(first: "ip4.ttl > 64", second: "ip4.ttl < 32", refusal: nil),
        Case(first: "tcp and not tcp.dport == 80", second: "tcp.dport == 80", refusal: nil),
        Case(first: "arp", second: "ip4", refusal: nil),
        Case(
            first: "tcp.dport == 80", firstPriority: 1, second: "tcp.dport == 80", secondPriority: 2,
            refusal:
                "filter 'b.f' would take packets from filter 'a.f' of app 'a': it overlaps it and has a higher priority (2 > 1); app 'a' must grant it"
        ),
        Case(
            first: "eth.src == 02:00:00:00:00:01", second: "eth.dst == 02:00:00:00:00:02",
            refusal:
                "filter 'b.f' overlaps filter 'a.f' of app 'a' with the same priority 0 and specificity 48, so neither would own the packets both match; give one of them a different priority"
        ),
        Case(
            first: "ip6.dst in 2001:db8::/32", second: "ip6.dst in 2001:db8:1::/48",
            refusal:
                "filter 'b.f' would take packets from filter 'a.f' of app 'a': it overlaps it and is more specific (64 > 48 header bits); app 'a' must grant it"
        ),
        Case(first: "ip6.dst in 2001:db8:1::/48", second: "ip6.dst in 2001:db8:2::/48", refusal: nil),
    ]

    @Test(arguments: cases)
    func secondFilter(_ conflict: Case) throws {
        let trie = DecisionTrie()
        let first = try trie.insert(
            name: "a.f", app: "a", priority: conflict.firstPriority,
            tree: RandomFilterSets.tree(conflict.first))
        let second = try RandomFilterSets.tree(conflict.second)
        do {
            try trie.insert(
                name: "\(conflict.secondApp).\(conflict.secondApp == "a" ? "g" : "f")",
                app: conflict.secondApp,
                priority: conflict.secondPriority, isTap: conflict.secondIsTap, tree: second,
                authorizedOver: conflict.authorized ? [first] : [])
            #expect(conflict.refusal == nil, "accepted, expected: \(conflict.refusal ?? "")")
        } catch {
            #expect(error.message == conflict.refusal)
            #expect(error.conflictingFilter == "a.f")
        }
    }

    /// Authority over one filter is not authority over another: a steal needs the victim's id.
    @Test func authorityIsPerFilter() throws {
        let trie = DecisionTrie()
        let victim = try trie.insert(name: "a.f", app: "a", tree: RandomFilterSets.tree("udp.dport == 53"))
        let other = try trie.insert(
            name: "c.f", app: "c", tree: RandomFilterSets.tree("tcp.dport == 53"))
        let thief = try RandomFilterSets.tree("udp.dport == 53")
        #expect(throws: TrieError.self) {
            try trie.insert(name: "b.f", app: "b", priority: 1, tree: thief, authorizedOver: [other])
        }
        #expect(trie.id(named: "b.f") == nil)
        try trie.insert(name: "b.f", app: "b", priority: 1, tree: thief, authorizedOver: [other, victim])
        #expect(trie.id(named: "b.f") != nil)
    }

    @Test func refusedFiltersLeaveNoTrace() throws {
        let trie = DecisionTrie()
        try trie.insert(name: "a.f", app: "a", tree: RandomFilterSets.tree("udp.dport == 53"))
        let before = trie.dump()
        #expect(throws: TrieError.self) {
            try trie.insert(name: "b.f", app: "b", tree: RandomFilterSets.tree("udp.dport == 53"))
        }
        #expect(trie.dump() == before)
        #expect(trie.filterCount == 1)
        #expect(throws: TrieError.self) {
            try trie.insert(name: "a.f", app: "x", tree: RandomFilterSets.tree("arp"))
        }
        #expect(throws: TrieError.self) { try trie.remove(named: "nope") }
    }
}
