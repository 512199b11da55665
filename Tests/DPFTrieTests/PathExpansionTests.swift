import DPFFilter
import DPFTestSupport
import DPFTrie
import Testing

@Suite struct PathExpansionTests {
    @Test func pathsAcceptExactlyWhatTheTreeAccepts() throws {
        var pairs = RandomFilterPairs(seed: 11)
        var packets = RandomPackets(seed: 12)
        let sample = packets.batch(300)
        var expanded = 0
        for _ in 0..<300 {
            let text = pairs.next().dpf
            let tree = try RandomFilterSets.tree(text)
            // Expansion may refuse a filter with too many alternatives; the rest must agree.
            guard let paths = try? PathExpansion.paths(of: tree) else { continue }
            expanded += 1
            for packet in sample {
                let byPaths = paths.contains { path in
                    path.literals.allSatisfy {
                        ReferenceEvaluator.holds($0.atom, bytes: packet.bytes) != $0.isNegated
                    }
                }
                guard byPaths == ReferenceEvaluator.matches(tree, packet) else {
                    Issue.record("paths of \(text) disagree with its tree")
                    return
                }
            }
        }
        #expect(expanded > 250, "only \(expanded) of 300 filters expanded")
    }

    @Test func negationsBecomeNegatedLiterals() throws {
        let paths = try PathExpansion.paths(of: RandomFilterSets.tree("ip4 and not ip4.src == 10.0.0.1"))
        #expect(paths.count == 1)
        #expect(paths[0].literals.map(\.isNegated) == [false, true])
        #expect(paths[0].specificity == 16 + 32)
    }

    @Test func specificityCountsHeaderBitsOncePerField() throws {
        let port = try PathExpansion.paths(of: RandomFilterSets.tree("tcp.dport == 80 and ip4"))
        // EtherType 16 bits, fragment offset 13, protocol 8, port 16 (IPv4 path only).
        #expect(port.map(\.specificity) == [16 + 13 + 8 + 16])
        let prefix = try PathExpansion.paths(of: RandomFilterSets.tree("ip4.dst in 10.0.0.0/8"))
        #expect(prefix.map(\.specificity) == [16 + 8])
    }

    @Test func expansionIsBounded() throws {
        // (a1 or a2) and (b1 or b2) and ... over 14 different bytes: 2^7 = 128 alternatives, all
        // of which can match.
        let text = (0..<7).map { "(eth[\(2 * $0):1] == 1 or eth[\(2 * $0 + 1):1] == 1)" }.joined(
            separator: " and ")
        let tree = try RandomFilterSets.tree(text)
        #expect(throws: ExpansionError.self) { try PathExpansion.paths(of: tree) }
    }

    /// Alternatives that pair contradictory tests (IPv4's EtherType with IPv6's) are dropped as
    /// they form, so they never count towards the limit.
    @Test func contradictoryAlternativesDoNotCountTowardsTheLimit() throws {
        let excluded = (0..<50).map { "tcp.dport != \($0)" }.joined(separator: " and ")
        let paths = try PathExpansion.paths(of: RandomFilterSets.tree(excluded))
        // One path over IPv4, one over IPv6, each excluding all 50 ports.
        #expect(paths.count == 2)
        #expect(paths.allSatisfy { $0.literals.filter(\.isNegated).isEmpty && $0.literals.count > 50 })

        let ports = (0..<7).map { "(tcp.dport == \($0) or udp.dport == \($0))" }.joined(separator: " and ")
        #expect(try PathExpansion.paths(of: RandomFilterSets.tree(ports)).isEmpty, "every pair contradicts")
    }

    /// `a or (a and b)` is `a`: an alternative that contains another adds nothing.
    @Test func alternativesThatContainAnotherAreAbsorbed() throws {
        let plain = try PathExpansion.paths(of: RandomFilterSets.tree("tcp"))
        let absorbed = try PathExpansion.paths(of: RandomFilterSets.tree("tcp or tcp.dport == 80"))
        #expect(absorbed == plain)
        let negated = (1...7).map { "tcp.dport == \($0)" }.joined(separator: " or ")
        let paths = try PathExpansion.paths(of: RandomFilterSets.tree("not (\(negated))"))
        #expect(paths.count <= PathExpansion.maximumPaths)
    }

    /// A chain as long as the parser allows expands without recursion trouble.
    @Test func theLongestChainExpands() throws {
        let excluded = (0..<500).map { "tcp.dport != \($0)" }.joined(separator: " and ")
        let paths = try PathExpansion.paths(of: RandomFilterSets.tree(excluded))
        #expect(paths.map { $0.literals.count } == [503, 502])
    }
}
