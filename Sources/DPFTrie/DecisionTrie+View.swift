import DPFFilter

/// A read-only view of one trie node, for the compiler that lowers the trie to bytecode.
public struct TrieNodeView: Sendable {
    public struct Accept: Sendable {
        public let filter: FilterID
        public let specificity: Int
    }

    public struct Group: Sendable {
        public let key: TestKey
        /// Equality edges, sorted by value.
        public let equalities: [(value: UInt32, child: Int32)]
        /// Other edges (ranges, `!=`, negations), in canonical order.
        public let others: [(literal: Literal, child: Int32)]
    }

    public let accepts: [Accept]
    /// Groups sorted by key.
    public let groups: [Group]
}

extension DecisionTrie {
    public static let rootNode: Int32 = root

    /// Every key some node's group tests, in no particular order (the trie interns them, so this
    /// costs one entry per distinct key, not a walk of the nodes).
    public var testKeysInUse: [TestKey] { Array(keyIDs.keys) }

    /// Node indices are below this (free slots included).
    public var nodeSlotCount: Int { nodes.count }

    /// The node `index` (start from `rootNode`), its accepts and groups in canonical order.
    public func view(of index: Int32) -> TrieNodeView {
        var acceptViews: [TrieNodeView.Accept] = []
        var accept = nodes[Int(index)].firstAccept
        while accept >= 0 {
            let path = pathRecords[Int(accepts[Int(accept)].path)]
            acceptViews.append(
                TrieNodeView.Accept(
                    filter: filters[Int(path.filter)]!.id, specificity: Int(path.specificity)))
            accept = accepts[Int(accept)].next
        }
        var groupViews: [TrieNodeView.Group] = []
        var groupIndex = nodes[Int(index)].firstGroup
        while groupIndex >= 0 {
            let group = groups[Int(groupIndex)]
            var equalities = group.equalities.entries.map { (value: $0.key, child: $0.value) }
            equalities.sort { $0.value < $1.value }
            var others = group.others
            if others.count > 1 { others.sort { $0.literal < $1.literal } }
            groupViews.append(
                TrieNodeView.Group(key: keys[Int(group.key)], equalities: equalities, others: others))
            groupIndex = group.next
        }
        // Sorted in place, and only when there is something to order: most nodes (every leaf)
        // have one accept and no group, and a compile views every node.
        if acceptViews.count > 1 {
            acceptViews.sort { ($0.filter, $0.specificity) < ($1.filter, $1.specificity) }
        }
        if groupViews.count > 1 { groupViews.sort { $0.key < $1.key } }
        return TrieNodeView(accepts: acceptViews, groups: groupViews)
    }
}
