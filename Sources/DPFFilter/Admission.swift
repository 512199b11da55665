/// The trusted boundary. Filter trees reach the multiplexer from applications, which are not
/// trusted: a tree may be built by hand rather than by a front end, un-normalised, contradictory,
/// huge or deeply nested. Whatever crosses into the trie goes through `admitted()` first, which
/// refuses what no stage should have to survive and returns the canonical form every stage
/// assumes. Atoms need no check here: they cannot be built invalid (see `Load.init`).
extension FilterTree {
    /// The deepest and/or/not nesting admitted. The language's own parenthesis limit (200) stays
    /// below it; the stages after admission recurse over the tree, so this bounds their stack.
    public static let maximumDepth = 256

    /// The most nodes (atoms, constants and operators) admitted in one filter.
    public static let maximumNodes = 1 << 16

    /// The tree in canonical form, once it is known to be small and shallow enough for every
    /// later stage. Checks iteratively, so no input can exhaust the stack here, and normalises
    /// within `budget`, so no input can make it hang.
    public func admitted(within budget: WorkBudget = .admission) throws(FilterError) -> FilterTree {
        try checkShape()
        return try Normalizer.normalize(self, within: budget)
    }

    /// Refuses trees deeper than `maximumDepth` or larger than `maximumNodes`, without recursion.
    public func checkShape() throws(FilterError) {
        var pending: [(tree: FilterTree, depth: Int)] = [(self, 1)]
        var nodes = 1
        while let (tree, depth) = pending.popLast() {
            guard depth <= FilterTree.maximumDepth else {
                throw FilterError(.tooDeep, "the filter nests deeper than \(FilterTree.maximumDepth) levels")
            }
            let children: [FilterTree]
            switch tree {
            case .constant, .atom: continue
            case .and(let list), .or(let list): children = list
            case .not(let child): children = [child]
            }
            nodes += children.count
            guard nodes <= FilterTree.maximumNodes else {
                throw FilterError(.tooLarge, "the filter has more than \(FilterTree.maximumNodes) nodes")
            }
            for child in children { pending.append((child, depth + 1)) }
        }
    }
}
