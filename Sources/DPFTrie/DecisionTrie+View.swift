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
            groupViews.append(
                TrieNodeView.Group(
                    key: keys[Int(group.key)],
                    equalities: group.equalities.entries.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 },
                    others: group.others.sorted { $0.literal < $1.literal }))
            groupIndex = group.next
        }
        return TrieNodeView(
            accepts: acceptViews.sorted { ($0.filter, $0.specificity) < ($1.filter, $1.specificity) },
            groups: groupViews.sorted { $0.key < $1.key })
    }
}
