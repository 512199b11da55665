import DPFFilter

extension DecisionTrie {
    /// Installs a filter. An exclusive filter that would take packets from another app's filter
    /// (it overlaps it and ranks higher: higher priority, or equal priority and more specific) is
    /// refused unless `guards` holds that filter's guard; one the delivery rule could not tell apart
    /// from another app's filter on some packet is refused outright. Returns the new filter's guard.
    @discardableResult
    public func insert(
        name: String, app: String, priority: Int = 0, isTap: Bool = false, tree: FilterTree,
        presenting guards: [FilterGuard] = []
    ) throws(TrieError) -> FilterGuard {
        guard filterIDs[name] == nil else {
            throw TrieError(.duplicateName, "a filter named '\(name)' is already installed")
        }
        let paths: [FilterPath]
        do {
            paths = try PathExpansion.paths(of: tree)
        } catch {
            throw TrieError(
                .tooManyPaths,
                "filter '\(name)' expands to more than \(PathExpansion.maximumPaths) alternatives (\(error.paths) or more); split it into several filters"
            )
        }
        if !isTap {
            try checkConflicts(name: name, app: app, priority: priority, paths: paths, guards: guards)
        }
        let index: Int32 = freeFilters.popLast() ?? Int32(filters.count)
        let filterGuard = FilterGuard(filter: FilterID(rawValue: index), secret: secrets.next())
        let record = InstalledFilter(
            name: name, app: app, priority: priority, isTap: isTap, paths: paths, sequence: nextSequence,
            filterGuard: filterGuard,
            pathIDs: [])
        nextSequence += 1
        if Int(index) == filters.count { filters.append(record) } else { filters[Int(index)] = record }
        filters[Int(index)]!.pathIDs = paths.map { insertPath($0, filter: index) }
        filterIDs[name] = FilterID(rawValue: index)
        return filterGuard
    }

    /// Removes a filter; the work is proportional to the filter's own paths.
    public func remove(named name: String) throws(TrieError) {
        guard let id = filterIDs[name], let filter = filters[Int(id.rawValue)] else {
            throw TrieError(.unknownFilter, "no filter named '\(name)' is installed")
        }
        for (path, pathID) in zip(filter.paths, filter.pathIDs) { removePath(path, id: pathID) }
        filters[Int(id.rawValue)] = nil
        freeFilters.append(id.rawValue)
        filterIDs[name] = nil
    }

    private func checkConflicts(
        name: String, app: String, priority: Int, paths: [FilterPath], guards: [FilterGuard]
    ) throws(TrieError) {
        for path in paths {
            for other in overlappingPaths(path) {
                let record = pathRecords[Int(other)]
                guard let victim = filters[Int(record.filter)], !victim.isTap, victim.app != app else {
                    continue
                }
                let ours = (priority, path.specificity)
                let theirs = (victim.priority, Int(record.specificity))
                if ours == theirs {
                    let identical = Set(victim.paths) == Set(paths)
                    throw TrieError(
                        .tie,
                        identical
                            ? "filter '\(name)' is identical to filter '\(victim.name)' of app '\(victim.app)' at the same priority \(priority); give one of them a different priority"
                            : "filter '\(name)' overlaps filter '\(victim.name)' of app '\(victim.app)' with the same priority \(priority) and specificity \(path.specificity), so neither would own the packets both match; give one of them a different priority",
                        conflictingFilter: victim.name)
                }
                if ours > theirs && !guards.contains(victim.filterGuard) {
                    let reason =
                        priority > victim.priority
                        ? "has a higher priority (\(priority) > \(victim.priority))"
                        : "is more specific (\(path.specificity) > \(record.specificity) header bits)"
                    throw TrieError(
                        .wouldSteal,
                        "filter '\(name)' would take packets from filter '\(victim.name)' of app '\(victim.app)': it overlaps it and \(reason); app '\(victim.app)' must grant it",
                        conflictingFilter: victim.name)
                }
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
                        var atom = Atom(
                            base: key.base, offset: key.offset, width: key.width, mask: key.mask, value: value
                        )
                        atom.relation = .equal
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
