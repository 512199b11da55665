import DPFFilter
import DPFWire

extension DecisionTrie {
    /// Walks the trie for one packet: the second engine, after the reference evaluator.
    ///
    /// At each node the walker loads every field the node's groups test, follows the one
    /// equality edge the value selects (one probe of the group's table) and every other edge whose
    /// test holds, and ranks the paths that end at the nodes it reaches. It borrows the trie's
    /// storage for the whole walk and reads fields in place, so it copies no records (and takes no
    /// references) per node.
    public func verdict(for packet: Packet) -> Verdict {
        verdict(bytes: packet.bytes)
    }

    public func verdict(bytes: [UInt8]) -> Verdict {
        nodes.withUnsafeBufferPointer { nodes in
            groups.withUnsafeBufferPointer { groups in
                keys.withUnsafeBufferPointer { keys in
                    accepts.withUnsafeBufferPointer { accepts in
                        pathRecords.withUnsafeBufferPointer { paths in
                            ranks.withUnsafeBufferPointer { ranks in
                                DecisionTrie.walk(bytes, nodes, groups, keys, accepts, paths, ranks)
                            }
                        }
                    }
                }
            }
        }
    }

    private static func walk(
        _ bytes: [UInt8], _ nodes: UnsafeBufferPointer<Node>, _ groups: UnsafeBufferPointer<Group>,
        _ keys: UnsafeBufferPointer<TestKey>, _ accepts: UnsafeBufferPointer<Accept>,
        _ paths: UnsafeBufferPointer<PathRecord>, _ ranks: UnsafeBufferPointer<Rank>
    ) -> Verdict {
        var best: DeliveryRank.Candidate?
        var taps: [FilterID] = []
        var pending: [Int32] = [root]
        while let node = pending.popLast() {
            var accept = nodes[Int(node)].firstAccept
            while accept >= 0 {
                let path = paths[Int(accepts[Int(accept)].path)]
                let rank = ranks[Int(path.filter)]
                if rank.isTap {
                    let id = FilterID(rawValue: path.filter)
                    if !taps.contains(id) { taps.append(id) }
                } else {
                    let candidate = DeliveryRank.Candidate(
                        filter: path.filter, priority: rank.priority, specificity: path.specificity,
                        sequence: rank.sequence)
                    if best.map({ DeliveryRank.beats(candidate, $0) }) ?? true { best = candidate }
                }
                accept = accepts[Int(accept)].next
            }
            var group = nodes[Int(node)].firstGroup
            while group >= 0 {
                let key = Int(groups[Int(group)].key)
                let loaded = ReferenceEvaluator.locate(keys[key].base, bytes: bytes).flatMap {
                    ReferenceEvaluator.load(bytes, at: $0 + keys[key].offset, width: keys[key].width)
                }
                let mask = keys[key].mask
                if let loaded, let child = groups[Int(group)].equalities.value(for: loaded & mask) {
                    pending.append(child)
                }
                if !groups[Int(group)].others.isEmpty {
                    for (literal, child) in groups[Int(group)].others {
                        let holds =
                            loaded.map { literal.atom.relation.holds($0 & mask, literal.atom.value) } ?? false
                        if holds != literal.isNegated { pending.append(child) }
                    }
                }
                group = groups[Int(group)].next
            }
        }
        return Verdict(owner: best.map { FilterID(rawValue: $0.filter) }, taps: taps.sorted())
    }
}
