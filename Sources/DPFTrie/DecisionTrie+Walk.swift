import DPFFilter
import DPFWire

extension DecisionTrie {
    /// Nodes the walker keeps on the thread's stack before it spills to the heap: far more than a
    /// walk holds at once unless hundreds of range or `!=` edges of one node hold together.
    static let inlinePendingCapacity = 128
    /// Matching taps kept on the thread's stack before they spill to the heap.
    static let inlineTapCapacity = 64

    /// Walks the trie for one packet: the second engine, after the reference evaluator.
    ///
    /// At each node the walker loads every field the node's groups test, follows the one
    /// equality edge the value selects (one probe of the group's table) and every other edge whose
    /// test holds, and ranks the paths that end at the nodes it reaches. It borrows the trie's
    /// storage for the whole walk and reads fields in place, so it copies no records (and takes no
    /// references) per node. Its scratch (the nodes still to visit, the taps found) lives on the
    /// calling thread's stack, so a walk allocates nothing unless the verdict carries taps (one
    /// array) or the scratch outgrows its inline capacity, and several threads may walk one trie
    /// at once as long as none updates it.
    public func verdict(for packet: Packet) -> Verdict {
        verdict(bytes: packet.bytes)
    }

    public func verdict(bytes: [UInt8]) -> Verdict { walk(bytes) }

    /// The verdict for borrowed packet bytes (a batch's), without copying them.
    public func verdict(_ packet: UnsafeRawBufferPointer) -> Verdict { walk(packet) }

    private func walk<Bytes: PacketBytes>(_ bytes: Bytes) -> Verdict {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: DecisionTrie.inlinePendingCapacity) {
            pendingStorage in
            withUnsafeTemporaryAllocation(of: FilterID.self, capacity: DecisionTrie.inlineTapCapacity) {
                tapStorage in
                var pending = PendingNodes(pendingStorage)
                var taps = MatchedTaps(tapStorage)
                return nodes.withUnsafeBufferPointer { nodes in
                    groups.withUnsafeBufferPointer { groups in
                        keys.withUnsafeBufferPointer { keys in
                            accepts.withUnsafeBufferPointer { accepts in
                                pathRecords.withUnsafeBufferPointer { paths in
                                    ranks.withUnsafeBufferPointer { ranks in
                                        DecisionTrie.walk(
                                            bytes, nodes, groups, keys, accepts, paths, ranks, &pending, &taps
                                        )
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func walk<Bytes: PacketBytes>(
        _ bytes: Bytes, _ nodes: UnsafeBufferPointer<Node>, _ groups: UnsafeBufferPointer<Group>,
        _ keys: UnsafeBufferPointer<TestKey>, _ accepts: UnsafeBufferPointer<Accept>,
        _ paths: UnsafeBufferPointer<PathRecord>, _ ranks: UnsafeBufferPointer<Rank>,
        _ pending: inout PendingNodes, _ taps: inout MatchedTaps
    ) -> Verdict {
        var best = DeliveryKey.none
        var owner: FilterID?
        pending.push(root)
        while let node = pending.pop() {
            var accept = nodes[Int(node)].firstAccept
            while accept >= 0 {
                let path = paths[Int(accepts[Int(accept)].path)]
                let rank = ranks[Int(path.filter)]
                if let rankKey = rank.key {
                    let key = DeliveryKey(
                        rawValue: DeliveryKey.candidate(
                            rankKey, specificity: UInt16(truncatingIfNeeded: path.specificity)))
                    if key > best {
                        best = key
                        owner = rank.id
                    }
                } else {
                    taps.insert(rank.id)
                }
                accept = accepts[Int(accept)].next
            }
            var group = nodes[Int(node)].firstGroup
            while group >= 0 {
                let key = Int(groups[Int(group)].key)
                let loaded = ReferenceEvaluator.value(of: keys[key].operand, bytes: bytes)
                let mask = keys[key].mask
                if let loaded, let child = groups[Int(group)].equalities.value(for: loaded & mask) {
                    pending.push(child)
                }
                if !groups[Int(group)].others.isEmpty {
                    for (literal, child) in groups[Int(group)].others {
                        let holds =
                            loaded.map { literal.atom.relation.holds($0 & mask, literal.atom.value) } ?? false
                        if holds != literal.isNegated { pending.push(child) }
                    }
                }
                group = groups[Int(group)].next
            }
        }
        return Verdict(owner: owner, taps: taps.sorted)
    }
}

/// The walker's stack of nodes still to visit. The first entries live in memory the caller lends
/// (on its thread's stack); pushes past that capacity go to a heap array, which pops first, so
/// the order stays last in, first out.
struct PendingNodes {
    private let inline: UnsafeMutableBufferPointer<Int32>
    private var count = 0
    /// Entries above the inline ones; non-empty only while the inline buffer is full.
    private var spilled: [Int32] = []

    init(_ inline: UnsafeMutableBufferPointer<Int32>) { self.inline = inline }

    @inline(__always)
    mutating func push(_ node: Int32) {
        if count < inline.count {
            inline[count] = node
            count += 1
        } else {
            spilled.append(node)
        }
    }

    @inline(__always)
    mutating func pop() -> Int32? {
        if !spilled.isEmpty { return spilled.removeLast() }
        guard count > 0 else { return nil }
        count -= 1
        return inline[count]
    }
}

/// The taps a walk finds, kept sorted and without repeats (a tap with several paths may match
/// more than once). They live in memory the caller lends until it is full, then all move to a
/// heap array.
struct MatchedTaps {
    private let inline: UnsafeMutableBufferPointer<FilterID>
    private var count = 0
    /// Every tap found, once the inline buffer has overflowed.
    private var spilled: [FilterID]?

    init(_ inline: UnsafeMutableBufferPointer<FilterID>) { self.inline = inline }

    mutating func insert(_ tap: FilterID) {
        if spilled != nil {
            let index = spilled!.firstIndex { $0 >= tap } ?? spilled!.count
            if index == spilled!.count || spilled![index] != tap { spilled!.insert(tap, at: index) }
            return
        }
        var index = count
        while index > 0 && inline[index - 1] > tap { index -= 1 }
        if index > 0 && inline[index - 1] == tap { return }
        if count == inline.count {
            var all = Array(inline[..<count])
            all.insert(tap, at: index)
            spilled = all
            return
        }
        var move = count
        while move > index {
            inline[move] = inline[move - 1]
            move -= 1
        }
        inline[index] = tap
        count += 1
    }

    /// The taps in increasing id order; allocates only if there is at least one.
    var sorted: [FilterID] {
        if let spilled { return spilled }
        guard count > 0 else { return [] }
        return Array(UnsafeBufferPointer(rebasing: inline[..<count]))
    }
}
