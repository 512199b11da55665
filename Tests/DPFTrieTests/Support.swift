import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFTrie
import DPFWire

enum TrieFixtures {
    static func tree(_ expression: String, linkType: LinkType = .ethernet) throws -> FilterTree {
        let source = SourceFile(name: "expr", text: expression)
        return try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: linkType)
    }

    struct RandomFilter {
        let name: String
        let app: String
        let priority: Int
        let isTap: Bool
        let tree: FilterTree
        let text: String
    }

    /// Random filters over random apps; `ports` of them are plain port filters, the rest mixed.
    static func randomFilters(seed: UInt64, count: Int) throws -> [RandomFilter] {
        var pairs = RandomFilterPairs(seed: seed)
        var generator = SeededGenerator(seed: seed ^ 0x5A5A)
        return try (0..<count).map { index in
            let text =
                generator.chance(0.4)
                ? "\(generator.pick(["tcp", "udp"])).dport == \(generator.pick(RandomPackets.ports))"
                : pairs.next(maximumDepth: 2).dpf
            return RandomFilter(
                name: "f\(index)", app: "app\(Int.random(in: 0..<12, using: &generator))",
                priority: generator.pick([0, 0, 1, 5]),
                isTap: generator.chance(0.15), tree: try tree(text), text: text)
        }
    }
}
