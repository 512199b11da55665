/// Puts filter trees in canonical form without changing what they accept on any packet, truncated
/// ones included:
/// - constants fold, nested and/or flatten, double negations cancel;
/// - atoms that can never hold fold to `false`; atoms whose comparison always holds become a pure
///   "bytes captured" test (mask 0), because a load past the captured length must still fail;
/// - inside a conjunction, duplicate and implied atoms go, contradictory ones make it `false`, and
///   its atoms are known facts while simplifying its other children (`ip4.src == 10.0.0.1 and tcp`
///   loses the IPv6 alternative of `tcp`);
/// - conjunction atoms are sorted (by base, offset, width, mask, relation, value).
///
/// Comparing atoms pairwise is quadratic in the worst case, so the work is metered: a tree from
/// outside (`FilterTree.admitted()`) gets `WorkBudget.admission` steps and is refused beyond them.
public struct Normalizer {
    private var budget: WorkBudget

    /// Normalises a tree whose size the caller already bounds (a front end's output).
    public static func normalize(_ tree: FilterTree) -> FilterTree {
        var normalizer = Normalizer(budget: WorkBudget(steps: .max))
        do {
            return try normalizer.simplify(tree, facts: Facts())
        } catch {
            return tree  // unreachable: an unlimited budget is never exhausted
        }
    }

    /// Normalises within `budget` steps (one per node visited and per pair of atoms compared).
    public static func normalize(_ tree: FilterTree, within budget: WorkBudget) throws(FilterError)
        -> FilterTree
    {
        var normalizer = Normalizer(budget: budget)
        return try normalizer.simplify(tree, facts: Facts())
    }

    mutating func simplify(_ tree: FilterTree, facts: Facts) throws(FilterError) -> FilterTree {
        try budget.spend(1)
        switch tree {
        case .constant:
            return tree
        case .atom(let atom):
            let folded = Normalizer.fold(atom)
            guard case .atom(let canonical) = folded else { return folded }
            return try facts.decide(canonical, &budget).map(FilterTree.constant) ?? folded
        case .not(let child):
            return .negation(try simplify(child, facts: facts))
        case .or(let children):
            var kept = UniqueTrees()
            for child in children {
                let simplified = try simplify(child, facts: facts)
                if case .or(let grandchildren) = simplified {
                    for grandchild in grandchildren { kept.append(grandchild) }
                } else {
                    kept.append(simplified)
                }
            }
            return .any(kept.trees)
        case .and(let children):
            return try simplifyConjunction(children, facts: facts)
        }
    }

    private mutating func simplifyConjunction(_ children: [FilterTree], facts: Facts) throws(FilterError)
        -> FilterTree
    {
        var pending = children
        // Each round can turn compound children into atoms that constrain the others; stop when
        // nothing changes (bounded: every round that continues removes or merges something).
        for _ in 0..<16 {
            var atoms: [Atom] = []
            var compounds: [FilterTree] = []
            for child in pending {
                switch try simplify(child, facts: facts) {
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
            guard let kept = try reduce(atoms.sorted()) else { return .reject }
            try budget.spend(pending.count + facts.count + kept.count)
            let known = facts.adding(kept)
            var simplifiedCompounds = UniqueTrees()
            var changed = false
            for compound in compounds {
                let simplified = try simplify(compound, facts: known)
                if simplified == .reject { return .reject }
                if simplified != compound { changed = true }
                if simplified != .accept { simplifiedCompounds.append(simplified) }
            }
            let next = kept.map(FilterTree.atom) + simplifiedCompounds.trees
            if let distributed = try distribute(
                atoms: kept, compounds: simplifiedCompounds.trees, facts: facts)
            {
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
    private mutating func distribute(atoms: [Atom], compounds: [FilterTree], facts: Facts) throws(FilterError)
        -> FilterTree?
    {
        var alternatives: [[FilterTree]] = [[]]
        var others: [FilterTree] = []
        for compound in compounds {
            guard case .or(let disjuncts) = compound else {
                others.append(compound)
                continue
            }
            guard alternatives.count * disjuncts.count <= Normalizer.distributionLimit else { return nil }
            alternatives = alternatives.flatMap { prefix in disjuncts.map { prefix + [$0] } }
        }
        guard alternatives.count > 1 else { return nil }
        let fixed = atoms.map(FilterTree.atom) + others
        return try simplify(.any(alternatives.map { .all(fixed + $0) }), facts: facts)
    }

    /// Drops duplicate and implied atoms of one sorted conjunction; `nil` if two contradict.
    ///
    /// Only atoms of one operand can contradict or imply each other, apart from bytes-captured
    /// tests, which any atom reading as far from the same base implies. So each operand's run of
    /// atoms (adjacent, being sorted) is reduced on its own, and a captured test survives only if
    /// nothing reaches its last byte: linear in the number of operands, however long the list.
    private mutating func reduce(_ atoms: [Atom]) throws(FilterError) -> [Atom]? {
        var kept: [Atom] = []
        var capturedTests: [Atom] = []
        var start = 0
        while start < atoms.count {
            var end = start + 1
            while end < atoms.count, atoms[end].operand == atoms[start].operand { end += 1 }
            // `keep` adds and removes only within this run, which therefore ends `kept`.
            let runStart = kept.count
            for atom in atoms[start..<end] {
                if Normalizer.isCapturedTest(atom) {
                    capturedTests.append(atom)
                } else if try !keep(atom, in: &kept, from: runStart) {
                    return nil
                }
            }
            start = end
        }
        var reached = Reach()
        for atom in kept { reached.note(atom.operand) }
        var furthestTest: [HeaderBase: (atom: Atom, end: Int)] = [:]
        for test in capturedTests {
            guard let (base, end) = Reach.bytes(of: test.operand), !reached.covers(base: base, end: end)
            else { continue }
            if let other = furthestTest[base], other.end >= end { continue }
            furthestTest[base] = (test, end)
        }
        return (try pinRanges(kept) + furthestTest.values.map(\.atom)).sorted()
    }

    /// Adds `atom` to `kept` unless an atom of its operand run (from `runStart` on) implies it,
    /// removing those it implies; `false` if two contradict.
    private mutating func keep(_ atom: Atom, in kept: inout [Atom], from runStart: Int) throws(FilterError)
        -> Bool
    {
        var implied = false
        try budget.spend(2 * (kept.count - runStart))
        for other in kept[runStart...] {
            if Normalizer.exclusionsOfOneField(atom, other) { continue }
            if Normalizer.relate(fact: atom, atom: other) == false { return false }
            switch Normalizer.relate(fact: other, atom: atom) {
            case false?: return false
            case true?: implied = true
            case nil: break
            }
        }
        if implied { return true }
        var index = runStart
        while index < kept.count {
            if !Normalizer.exclusionsOfOneField(atom, kept[index]),
                Normalizer.relate(fact: atom, atom: kept[index]) == true
            {
                kept.remove(at: index)
            } else {
                index += 1
            }
        }
        kept.append(atom)
        return true
    }

    /// `x != a` and `x != b` under one mask neither imply nor contradict each other: a cheap test
    /// that keeps long `!=` chains fast.
    @inline(__always)
    private static func exclusionsOfOneField(_ a: Atom, _ b: Atom) -> Bool {
        a.relation == .notEqual && b.relation == .notEqual && a.mask == b.mask && a.value != b.value
    }

    /// Bounds that leave a single value (`x >= 443 and x <= 443`) become one equality.
    private mutating func pinRanges(_ atoms: [Atom]) throws(FilterError) -> [Atom] {
        var result = atoms
        for lower in atoms where lower.relation == .greaterOrEqual || lower.relation == .greater {
            try budget.spend(atoms.count)
            guard let low = Normalizer.interval(lower)?.low,
                let upper = atoms.first(where: {
                    ($0.relation == .lessOrEqual || $0.relation == .less) && $0.operand == lower.operand
                        && $0.mask == lower.mask
                        && Normalizer.interval($0)?.high == low
                })
            else { continue }
            result.removeAll { $0 == lower || $0 == upper }
            result.append(lower.with(relation: .equal, value: low))
        }
        return result
    }

    // MARK: Single atoms

    /// An atom that only checks that the operand's bytes were captured: a test of its last byte
    /// under mask 0.
    static func capturedTest(of operand: Operand) -> Atom {
        switch operand {
        case .load(let load):
            // A valid load's last byte is a valid one-byte load.
            let lastByte = try? Load(base: load.base, offset: load.end - 1, width: 1)
            return Atom(.load(lastByte ?? load), mask: 0, relation: .equal, value: 0)
        }
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
        case true?: return .atom(capturedTest(of: atom.operand))
        case nil: return .atom(atom)
        }
    }

    /// The values `operand & mask` may take when `atom` holds, as a closed interval (for `!=`,
    /// the whole range; `excluded` carries the point), or `nil` when no value can (`< 0`, which
    /// folding turns into `false`, but `relate` is public and takes atoms as they come).
    private static func interval(_ atom: Atom) -> (low: UInt32, high: UInt32, excluded: UInt32?)? {
        switch atom.relation {
        case .equal: return (atom.value, atom.value, nil)
        case .notEqual: return (0, atom.mask, atom.value)
        case .less: return atom.value == 0 ? nil : (0, atom.value - 1, nil)
        case .lessOrEqual: return (0, atom.value, nil)
        case .greater: return atom.value == .max ? nil : (atom.value + 1, atom.mask, nil)
        case .greaterOrEqual: return (atom.value, atom.mask, nil)
        }
    }

    /// What the atoms known to hold (a conjunction's, and those of every conjunction around it)
    /// say about another atom, looked up by operand rather than tried one by one.
    struct Facts {
        private var byOperand: [Operand: [Atom]] = [:]
        private var reached = Reach()
        private(set) var count = 0

        func adding(_ atoms: [Atom]) -> Facts {
            var facts = self
            for atom in atoms {
                facts.byOperand[atom.operand, default: []].append(atom)
                facts.count += 1
                facts.reached.note(atom.operand)
            }
            return facts
        }

        /// `true` if the facts imply the folded `atom`, `false` if they contradict it, else `nil`.
        /// Only facts on the same operand can decide an atom, except a bytes-captured test, which
        /// every fact reading at least as far from the same base implies.
        func decide(_ atom: Atom, _ budget: inout WorkBudget) throws(FilterError) -> Bool? {
            if isCapturedTest(atom) {
                guard let (base, end) = Reach.bytes(of: atom.operand) else { return nil }
                return reached.covers(base: base, end: end) ? true : nil
            }
            let facts = byOperand[atom.operand] ?? []
            try budget.spend(facts.count)
            for fact in facts {
                if let known = relate(fact: fact, atom: atom) { return known }
                if relate(fact: atom, atom: fact) == false { return false }
            }
            return nil
        }
    }

    /// How far from each header base the atoms noted so far read.
    struct Reach {
        private var furthest: [HeaderBase: Int] = [:]

        /// The base and end of the bytes a load operand reads.
        static func bytes(of operand: Operand) -> (base: HeaderBase, end: Int)? {
            switch operand {
            case .load(let load): (load.base, load.end)
            }
        }

        mutating func note(_ operand: Operand) {
            guard let (base, end) = Reach.bytes(of: operand) else { return }
            furthest[base] = max(furthest[base] ?? 0, end)
        }

        func covers(base: HeaderBase, end: Int) -> Bool { (furthest[base] ?? 0) >= end }
    }

    /// What `fact` being true says about `atom`: `true` (implied), `false` (contradicted), or `nil`
    /// (unknown; contradiction is symmetric, so callers also ask the other way round).
    /// Exact for folded atoms (whose comparisons are not decided by the mask alone); for others it
    /// may answer `nil` more often, never wrongly.
    public static func relate(fact: Atom, atom: Atom) -> Bool? {
        if fact == atom { return true }
        switch (fact.operand, atom.operand) {
        case (.load(let factLoad), .load(let atomLoad)):
            guard factLoad.base == atomLoad.base else { return nil }
            if isCapturedTest(atom) { return factLoad.end >= atomLoad.end ? true : nil }
            guard factLoad == atomLoad else { return nil }
        }
        // A known value under a wider mask decides any test under a narrower one.
        if fact.relation == .equal, atom.mask & ~fact.mask == 0 {
            return atom.relation.holds(fact.value & atom.mask, atom.value)
        }
        guard fact.mask == atom.mask, let known = interval(fact), let tested = interval(atom) else {
            return nil
        }
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

/// A number of steps some work may take before it is abandoned: what keeps quadratic corners of
/// normalisation and path expansion from turning a hostile filter into a hang.
public struct WorkBudget: Sendable {
    public private(set) var remaining: Int

    public init(steps: Int) { remaining = steps }

    /// What admitting one filter may cost: far above what any filter the languages accept needs
    /// (a 1,000-term chain takes a few million), and a fraction of a second when spent.
    public static let admission = WorkBudget(steps: 50_000_000)

    public mutating func spend(_ steps: Int) throws(FilterError) {
        guard steps <= remaining else {
            throw FilterError(
                .tooComplex,
                "the filter needs more work to normalise and expand than a filter may take; split it")
        }
        remaining -= steps
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
