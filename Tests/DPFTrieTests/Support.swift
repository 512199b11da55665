import DPFFilter
import DPFTestSupport
import DPFWire

enum TrieFixtures {
    static func tree(_ expression: String, linkType: LinkType = .ethernet) throws -> FilterTree {
        try RandomFilterSets.tree(expression, linkType: linkType)
    }

    typealias RandomFilter = RandomFilterSets.Entry

    static func randomFilters(seed: UInt64, count: Int) throws -> [RandomFilter] {
        try RandomFilterSets.make(seed: seed, count: count)
    }
}
