/// Puts filter trees in canonical form without changing what they accept on any packet, truncated
/// ones included:
/// - constants fold, nested and/or flatten, double negations cancel;
/// - atoms that can never hold fold to `false`; atoms whose comparison always holds become a pure
///   "bytes captured" test (mask 0), because a load past the captured length must still fail;
/// - inside a conjunction, duplicate and implied atoms go, contradictory ones make it `false`, and
///   its atoms are known facts while simplifying its other children (`ip4.src == 10.0.0.1 and tcp`
///   loses the IPv6 alternative of `tcp`);
/// - conjunction atoms are sorted (by base, offset, width, mask, relation, value).
public enum Normalizer {
    public static func normalize(_ tree: FilterTree) -> FilterTree { simplify(tree, facts: []) }

    static func simplify(_ tree: FilterTree, facts: [Atom]) -> FilterTree {
        switch tree {
        case .constant:
            return tree
        case .atom(let atom):
            let folded = fold(atom)
            guard case .atom(let canonical) = folded else { return folded }
            for fact in facts {
                if let known = relate(fact: fact, atom: canonical) { return .constant(known) }
                if relate(fact: canonical, atom: fact) == false { return .reject }
            }
            return folded
        case .not(let child):
            return .negation(simplify(child, facts: facts))
        case .or(let children):
            var kept = UniqueTrees()
            for child in children {
                let simplified = simplify(child, facts: facts)
                if case .or(let grandchildren) = simplified {
                    for grandchild in grandchildren { kept.append(grandchild) }
                } else {
                    kept.append(simplified)
                }
            }
            return .any(kept.trees)
        case .and(let children):
            return simplifyConjunction(children, facts: facts)
        }
    }

    private static func simplifyConjunction(_ children: [FilterTree], facts: [Atom]) -> FilterTree {
        var pending = children
        // Each round can turn compound children into atoms that constrain the others; stop when
        // nothing changes (bounded: every round that continues removes or merges something).
        for _ in 0..<16 {
            var atoms: [Atom] = []
            var compounds: [FilterTree] = []
            for child in pending {
                switch simplify(child, facts: facts) {
                case .constant(true): continue
                case .constant(false): return .reject
                case .atom(let atom): atoms.append(atom)
                case .and(let grandchildren):
                    for grandchild in grandchildren {
                        if case .atom(let atom) = grandchild {
                            atoms.append(atom)
                        } else {
                            compounds.append(grandchild)
                        }
                    }
                case let other: compounds.append(other)
                }
            }
            guard let kept = reduce(atoms.sorted()) else { return .reject }
            let known = facts + kept
            var simplifiedCompounds = UniqueTrees()
            var changed = false
            for compound in compounds {
                let simplified = simplify(compound, facts: known)
                if simplified == .reject { return .reject }
                if simplified != compound { changed = true }
                if simplified != .accept { simplifiedCompounds.append(simplified) }
            }
            let next = kept.map(FilterTree.atom) + simplifiedCompounds.trees
            if let distributed = distribute(atoms: kept, compounds: simplifiedCompounds.trees, facts: facts) {
                return distributed
            }
            if !changed || next == pending { return .all(next) }
            pending = next
        }
        return .all(pending)
    }

    /// Largest number of conjunctions that distributing `and` over `or` may produce.
    static let distributionLimit = 16

    /// `a and (b or c)` as `(a and b) or (a and c)` when the result stays small, so that each
    /// alternative can be checked for contradictions on its own (`tcp.dport == 80 and
    /// tcp.dport == 443` pairs the IPv4 and IPv6 alternatives of both sides, and every pair
    /// contradicts). `nil` when there is nothing to distribute or the product is too large.
    private static func distribute(atoms: [Atom], compounds: [FilterTree], facts: [Atom]) -> FilterTree? {
        var alternatives: [[FilterTree]] = [[]]
        var others: [FilterTree] = []
        for compound in compounds {
            guard case .or(let disjuncts) = compound else {
                others.append(compound)
                continue
            }
            guard alternatives.count * disjuncts.count <= distributionLimit else { return nil }
            alternatives = alternatives.flatMap { prefix in disjuncts.map { prefix + [$0] } }
        }
        guard alternatives.count > 1 else { return nil }
        let fixed = atoms.map(FilterTree.atom) + others
        return simplify(.any(alternatives.map { .all(fixed + $0) }), facts: facts)
    }

    /// Drops duplicate and implied atoms of one conjunction; `nil` if two contradict.
    private static func reduce(_ atoms: [Atom]) -> [Atom]? {
        var kept: [Atom] = []
        for atom in atoms {
            var implied = false
            for other in kept {
                if relate(fact: atom, atom: other) == false { return nil }
                switch relate(fact: other, atom: atom) {
                case false?: return nil
                case true?: implied = true
                case nil: break
                }
            }
            if implied { continue }
            kept.removeAll { relate(fact: atom, atom: $0) == true }
            kept.append(atom)
        }
        return pinRanges(kept).sorted()
    }

    /// Bounds that leave a single value (`x >= 443 and x <= 443`) become one equality.
    private static func pinRanges(_ atoms: [Atom]) -> [Atom] {
        var result = atoms
        for lower in atoms where lower.relation == .greaterOrEqual || lower.relation == .greater {
            let low = interval(lower).low
            guard
                let upper = atoms.first(where: {
                    ($0.relation == .lessOrEqual || $0.relation == .less) && $0.load == lower.load
                        && $0.mask == lower.mask
                        && interval($0).high == low
                })
            else { continue }
            result.removeAll { $0 == lower || $0 == upper }
            var pinned = lower
            pinned.relation = .equal
            pinned.value = low
            result.append(pinned)
        }
        return result
    }

    // MARK: Single atoms

    /// An atom that only checks that the bytes up to `end` were captured.
    static func capturedTest(base: HeaderBase, end: Int) -> Atom {
        Atom(base: base, offset: end - 1, width: 1, mask: 0, relation: .equal, value: 0)
    }

    static func isCapturedTest(_ atom: Atom) -> Bool {
        atom.mask == 0 && atom.relation == .equal && atom.value == 0
    }

    /// Folds an atom whose comparison is decided by its mask alone.
    static func fold(_ atom: Atom) -> FilterTree {
        let mask = atom.mask
        let value = atom.value
        let always: Bool?
        switch atom.relation {
        case .equal: always = value & ~mask != 0 ? false : (mask == 0 ? true : nil)
        case .notEqual: always = value & ~mask != 0 ? true : (mask == 0 ? false : nil)
        case .less: always = value == 0 ? false : (value > mask ? true : nil)
        case .lessOrEqual: always = value >= mask ? true : nil
        case .greater: always = value >= mask ? false : nil
        case .greaterOrEqual: always = value == 0 ? true : (value > mask ? false : nil)
        }
        switch always {
        case false?: return .reject
        case true?: return .atom(capturedTest(base: atom.base, end: atom.offset + atom.width))
        case nil: return .atom(atom)
        }
    }

    /// The values `load & mask` may take when `atom` holds, as a closed interval (for `!=`, the
    /// whole range; `excluded` carries the point).
    private static func interval(_ atom: Atom) -> (low: UInt32, high: UInt32, excluded: UInt32?) {
        switch atom.relation {
        case .equal: return (atom.value, atom.value, nil)
        case .notEqual: return (0, atom.mask, atom.value)
        case .less: return (0, atom.value - 1, nil)
        case .lessOrEqual: return (0, atom.value, nil)
        case .greater: return (atom.value + 1, atom.mask, nil)
        case .greaterOrEqual: return (atom.value, atom.mask, nil)
        }
    }

    /// What `fact` being true says about `atom`: `true` (implied), `false` (contradicted), or `nil`
    /// (unknown; contradiction is symmetric, so callers also ask the other way round).
    /// Both atoms are folded (so their comparisons are not decided by the mask alone).
    public static func relate(fact: Atom, atom: Atom) -> Bool? {
        if fact == atom { return true }
        guard fact.base == atom.base else { return nil }
        if isCapturedTest(atom) { return fact.offset + fact.width >= atom.offset + atom.width ? true : nil }
        guard fact.offset == atom.offset, fact.width == atom.width else { return nil }
        // A known value under a wider mask decides any test under a narrower one.
        if fact.relation == .equal, atom.mask & ~fact.mask == 0 {
            return atom.relation.holds(fact.value & atom.mask, atom.value)
        }
        guard fact.mask == atom.mask else { return nil }
        let known = interval(fact)
        let tested = interval(atom)
        if atom.relation == .notEqual {
            if known.excluded == atom.value { return true }
            if known.low > atom.value || known.high < atom.value { return true }
            return known.low == atom.value && known.high == atom.value ? false : nil
        }
        if known.high < tested.low || known.low > tested.high { return false }
        if let excluded = known.excluded, tested.low == excluded, tested.high == excluded { return false }
        if known.low >= tested.low && known.high <= tested.high { return true }
        return nil
    }
}

/// Trees in first-seen order without duplicates; a hash set keeps long chains linear.
private struct UniqueTrees {
    private(set) var trees: [FilterTree] = []
    private var seen: Set<FilterTree> = []

    mutating func append(_ tree: FilterTree) {
        if seen.insert(tree).inserted { trees.append(tree) }
    }
}
