import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFWire

/// Random filter sets over many apps: port filters mixed with random expressions (addresses,
/// prefixes, protocols, VLANs, raw loads, and/or/not), random priorities, some taps.
public enum RandomFilterSets {
    public struct Entry: Sendable {
        public let name: String
        public let app: String
        public let priority: Int
        public let isTap: Bool
        public let tree: FilterTree
        public let text: String
    }

    /// One DPF expression, analysed for `linkType`.
    public static func tree(_ expression: String, linkType: LinkType = .ethernet) throws -> FilterTree {
        let source = SourceFile(name: "expr", text: expression)
        return try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: linkType)
    }

    public static func make(seed: UInt64, count: Int, apps: Int = 12) throws -> [Entry] {
        var pairs = RandomFilterPairs(seed: seed)
        var generator = SeededGenerator(seed: seed ^ 0x5A5A)
        return try (0..<count).map { index in
            let text =
                generator.chance(0.4)
                ? "\(generator.pick(["tcp", "udp"])).dport == \(generator.pick(RandomPackets.ports))"
                : pairs.next(maximumDepth: 2).dpf
            return Entry(
                name: "f\(index)", app: "app\(Int.random(in: 0..<apps, using: &generator))",
                priority: generator.pick([0, 0, 1, 5]),
                isTap: generator.chance(0.15), tree: try tree(text), text: text)
        }
    }
}
