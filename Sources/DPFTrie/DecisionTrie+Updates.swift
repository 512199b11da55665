import DPFFilter
import DPFWire

extension DecisionTrie {
    /// Installs a filter and returns its id. An exclusive filter that would take packets from
    /// another app's filter (it overlaps it and ranks higher: higher priority, or equal priority
    /// and more specific) is refused unless `granted` holds that filter's id; one the delivery rule
    /// could not tell apart from another app's filter on some packet is refused outright.
    ///
    /// The trie checks no authority itself: `granted` is what the caller (the network
    /// multiplexer) has established, by checking the guard capabilities the installer presented
    /// for those filters.
    ///
    /// This is the trusted boundary: `tree` may come from anyone, so it is admitted first (checked
    /// for size and depth, then normalised; see `FilterTree.admitted()`), and every refusal is a
    /// `TrieError`.
    @discardableResult
    public func insert(
        name: String, app: String, priority: Int = 0, isTap: Bool = false, tree untrustedTree: FilterTree,
        authorizedOver granted: Set<FilterID> = []
    ) throws(TrieError) -> FilterID {
        let (tree, paths) = try admit(name: name, tree: untrustedTree)
        try checkRank(name: name, priority: priority, paths: paths)
        if !isTap {
            try checkConflicts(name: name, app: app, priority: priority, paths: paths, granted: granted)
        }
        return install(name: name, app: app, priority: priority, isTap: isTap, tree: tree, paths: paths)
    }

    /// The filter admitted across the trusted boundary (see `FilterTree.admitted()`) and its
    /// paths, after checking its name is free; refuses filters that expand too far.
    func admit(name: String, tree untrustedTree: FilterTree) throws(TrieError)
        -> (tree: FilterTree, paths: [FilterPath])
    {
        guard filterIDs[name] == nil else {
            throw TrieError(.duplicateName, "a filter named '\(name)' is already installed")
        }
        let tree: FilterTree
        do {
            tree = try untrustedTree.admitted()
        } catch {
            throw TrieError(.invalidFilter, "filter '\(name)' is refused: \(error.message)")
        }
        do {
            return (tree, try PathExpansion.paths(of: tree))
        } catch .tooComplex {
            throw TrieError(
                .invalidFilter,
                "filter '\(name)' is refused: expanding it needs more work than a filter may take; split it")
        } catch {
            throw TrieError(
                .tooManyPaths,
                "filter '\(name)' expands to more than \(PathExpansion.maximumPaths) alternatives once its 'or's are multiplied out; test lists of values as ranges or prefixes, or split the filter"
            )
        }
    }

    /// Refuses what the delivery key cannot rank (see `DeliveryKey`): a priority outside
    /// 0...65535, a path testing more than 65535 header bits, or a filter once the trie has handed
    /// out every install sequence.
    func checkRank(name: String, priority: Int, paths: [FilterPath]) throws(TrieError) {
        guard (0...DeliveryKey.maximumPriority).contains(priority) else {
            throw TrieError(
                .invalidFilter,
                "filter '\(name)' has priority \(priority), outside 0...\(DeliveryKey.maximumPriority)")
        }
        if let widest = paths.map(\.specificity).max(), widest > DeliveryKey.maximumSpecificity {
            throw TrieError(
                .invalidFilter,
                "filter '\(name)' tests \(widest) header bits on one path, more than the \(DeliveryKey.maximumSpecificity) the delivery rule ranks; split it"
            )
        }
        guard nextSequence <= DeliveryKey.maximumOrder else {
            throw TrieError(
                .exhausted,
                "this trie has installed \(nextSequence) filters, every id it can give; build a new one")
        }
    }

    /// Adds a filter whose paths were expanded, whose rank was checked and whose collisions were
    /// allowed by the caller; returns its id.
    @discardableResult
    func install(name: String, app: String, priority: Int, isTap: Bool, tree: FilterTree, paths: [FilterPath])
        -> FilterID
    {
        let index: Int32 = freeFilters.popLast() ?? Int32(filters.count)
        let id = FilterID(rawValue: nextSequence)
        let record = InstalledFilter(
            id: id, name: name, app: app, priority: priority, isTap: isTap, tree: tree,
            sequence: nextSequence)
        let key = isTap ? nil : DeliveryKey.rank(priority: UInt16(priority), order: nextSequence)
        let rank = Rank(id: id, key: key)
        nextSequence += 1
        if Int(index) == filters.count {
            filters.append(record)
            ranks.append(rank)
        } else {
            filters[Int(index)] = record
            ranks[Int(index)] = rank
        }
        var firstPath: Int32 = -1
        for path in paths { firstPath = insertPath(path, filter: index, nextOfFilter: firstPath) }
        filters[Int(index)]!.firstPath = firstPath
        filterIDs[name] = id
        slots[id] = index
        return id
    }

    /// Removes a filter; the work is proportional to the filter's own paths.
    public func remove(named name: String) throws(TrieError) {
        guard let id = filterIDs[name], let slot = slots[id], let filter = filters[Int(slot)] else {
            throw TrieError(.unknownFilter, "no filter named '\(name)' is installed")
        }
        var pathID = filter.firstPath
        while pathID >= 0 {
            let next = pathRecords[Int(pathID)].nextOfFilter
            removePath(pathID)
            pathID = next
        }
        filters[Int(slot)] = nil
        freeFilters.append(slot)
        filterIDs[name] = nil
        slots[id] = nil
    }

    /// How a new exclusive filter relates to an installed one of another app on the packets both
    /// may match.
    struct Collision: Sendable {
        enum Kind: Sendable {
            /// The new filter ranks higher, so it would take those packets.
            case wouldSteal
            /// The installed filter ranks higher and keeps them.
            case wouldLose
            /// Neither ranks higher: the delivery rule cannot choose.
            case tie
        }

        let kind: Kind
        let other: FilterID
        /// Specificity of the new filter's path and of the installed path that collide.
        let specificity: Int
        let otherSpecificity: Int
    }

    /// Every collision of an exclusive filter of `app` at `priority` with installed exclusive
    /// filters of other apps (one per colliding filter, the worst kind first: tie, steal, lose).
    func collisions(app: String, priority: Int, paths: [FilterPath]) -> [Collision] {
        var worst: [Int32: Collision] = [:]
        let severity = { (kind: Collision.Kind) in kind == .tie ? 2 : kind == .wouldSteal ? 1 : 0 }
        for path in paths {
            for other in overlappingPaths(path) {
                let record = pathRecords[Int(other)]
                guard let installed = filters[Int(record.filter)], !installed.isTap, installed.app != app
                else { continue }
                let ours = (priority, path.specificity)
                let theirs = (installed.priority, Int(record.specificity))
                let kind: Collision.Kind = ours == theirs ? .tie : ours > theirs ? .wouldSteal : .wouldLose
                let collision = Collision(
                    kind: kind, other: installed.id, specificity: path.specificity,
                    otherSpecificity: Int(record.specificity))
                if let previous = worst[record.filter], severity(previous.kind) >= severity(kind) { continue }
                worst[record.filter] = collision
            }
        }
        return worst.values.sorted { (severity($0.kind), $1.other) > (severity($1.kind), $0.other) }
    }

    /// The error for a collision the installer has no right to.
    func refusal(
        for collision: Collision, name: String, app: String, priority: Int, paths: [FilterPath]
    ) -> TrieError {
        let other = filter(collision.other)!
        switch collision.kind {
        case .tie:
            let identical = Set(other.paths) == Set(paths)
            return TrieError(
                .tie,
                identical
                    ? "filter '\(name)' is identical to filter '\(other.name)' of app '\(other.app)' at the same priority \(priority); give one of them a different priority"
                    : "filter '\(name)' overlaps filter '\(other.name)' of app '\(other.app)' with the same priority \(priority) and specificity \(collision.specificity), so neither would own the packets both match; give one of them a different priority",
                conflictingFilter: other.name)
        case .wouldSteal:
            let reason =
                priority > other.priority
                ? "has a higher priority (\(priority) > \(other.priority))"
                : "is more specific (\(collision.specificity) > \(collision.otherSpecificity) header bits)"
            return TrieError(
                .wouldSteal,
                "filter '\(name)' would take packets from filter '\(other.name)' of app '\(other.app)': it overlaps it and \(reason); app '\(other.app)' must grant it",
                conflictingFilter: other.name)
        case .wouldLose:
            return TrieError(
                .wouldSteal,
                "filter '\(other.name)' of app '\(other.app)' would take packets from filter '\(name)': it overlaps it and ranks higher; app '\(app)' must grant it",
                conflictingFilter: other.name)
        }
    }

    private func checkConflicts(
        name: String, app: String, priority: Int, paths: [FilterPath], granted: Set<FilterID>
    ) throws(TrieError) {
        for collision in collisions(app: app, priority: priority, paths: paths) {
            switch collision.kind {
            case .tie:
                throw refusal(for: collision, name: name, app: app, priority: priority, paths: paths)
            case .wouldSteal where !granted.contains(collision.other):
                throw refusal(for: collision, name: name, app: app, priority: priority, paths: paths)
            default:
                continue
            }
        }
    }

    /// Paths already installed that may match a packet `path` matches (conservatively: their
    /// literals are not proven to contradict). Follows only compatible edges, so the cost is in
    /// the overlapping part of the trie, not in its size.
    func overlappingPaths(_ path: FilterPath) -> [Int32] {
        var found: [Int32] = []
        var pending: [Int32] = [DecisionTrie.root]
        let compatible = { (literal: Literal) in
            !path.literals.contains { PathExpansion.contradicts($0, literal) }
        }
        while let node = pending.popLast() {
            var accept = nodes[Int(node)].firstAccept
            while accept >= 0 {
                found.append(accepts[Int(accept)].path)
                accept = accepts[Int(accept)].next
            }
            var groupIndex = nodes[Int(node)].firstGroup
            while groupIndex >= 0 {
                let group = groups[Int(groupIndex)]
                let key = keys[Int(group.key)]
                if let pinned = path.literals.first(where: { $0.isEquality && $0.key == key }) {
                    // Only the edge for the same value can be compatible with an equality.
                    if let child = group.equalities.value(for: pinned.atom.value) { pending.append(child) }
                } else {
                    for (value, child) in group.equalities.entries {
                        let atom = Atom(key.operand, mask: key.mask, relation: .equal, value: value)
                        if compatible(Literal(atom)) { pending.append(child) }
                    }
                }
                for (literal, child) in group.others where compatible(literal) { pending.append(child) }
                groupIndex = group.next
            }
        }
        return found
    }
}
