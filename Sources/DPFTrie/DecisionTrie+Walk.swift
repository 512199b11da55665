import DPFFilter
import DPFWire

extension DecisionTrie {
    /// Walks the trie for one packet: the second engine, after the reference evaluator.
    ///
    /// At each node the walker loads every field the node's groups test, follows the one
    /// equality edge the value selects (one probe of the group's table) and every other edge whose
    /// test holds, and ranks the paths that end at the nodes it reaches.
    public func verdict(for packet: Packet) -> Verdict {
        verdict(bytes: packet.bytes)
    }

    public func verdict(bytes: [UInt8]) -> Verdict {
        var best: DeliveryRank.Candidate?
        var taps: [FilterID] = []
        var pending: [Int32] = [DecisionTrie.root]
        while let node = pending.popLast() {
            var accept = nodes[Int(node)].firstAccept
            while accept >= 0 {
                let path = pathRecords[Int(accepts[Int(accept)].path)]
                let filter = filters[Int(path.filter)]!
                if filter.isTap {
                    let id = FilterID(rawValue: path.filter)
                    if !taps.contains(id) { taps.append(id) }
                } else {
                    let candidate = DeliveryRank.Candidate(
                        filter: path.filter, priority: filter.priority, specificity: path.specificity,
                        sequence: filter.sequence)
                    if best.map({ DeliveryRank.beats(candidate, $0) }) ?? true { best = candidate }
                }
                accept = accepts[Int(accept)].next
            }
            var groupIndex = nodes[Int(node)].firstGroup
            while groupIndex >= 0 {
                let group = groups[Int(groupIndex)]
                let key = keys[Int(group.key)]
                let loaded = ReferenceEvaluator.locate(key.base, bytes: bytes).flatMap {
                    ReferenceEvaluator.load(bytes, at: $0 + key.offset, width: key.width)
                }
                if let loaded {
                    if let child = group.equalities.value(for: loaded & key.mask) { pending.append(child) }
                }
                for (literal, child) in group.others {
                    let holds =
                        loaded.map { literal.atom.relation.holds($0 & key.mask, literal.atom.value) } ?? false
                    if holds != literal.isNegated { pending.append(child) }
                }
                groupIndex = group.next
            }
        }
        return Verdict(owner: best.map { FilterID(rawValue: $0.filter) }, taps: taps.sorted())
    }
}
