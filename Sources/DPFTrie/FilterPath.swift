import DPFFilter

/// One conjunction of a filter in disjunctive normal form: the literals a packet must satisfy,
/// sorted canonically, and how specific the path is.
public struct FilterPath: Sendable, Hashable {
    public let literals: [Literal]
    /// Header bits tested: for each loaded field, the bits its literals' masks cover. The delivery
    /// rule prefers the most specific match.
    public let specificity: Int

    init(sortedLiterals literals: [Literal]) {
        self.literals = literals
        // Sorted literals keep each field's literals adjacent: OR their masks, count the bits.
        var specificity = 0
        var index = 0
        while index < self.literals.count {
            let operand = self.literals[index].atom.operand
            var bits: UInt32 = 0
            while index < self.literals.count && self.literals[index].atom.operand == operand {
                bits |= self.literals[index].atom.mask
                index += 1
            }
            specificity += bits.nonzeroBitCount
        }
        self.specificity = specificity
    }
}

/// Why a filter did not expand into paths.
public enum ExpansionError: Error, Sendable, Equatable {
    /// Its alternatives that can match outnumber `PathExpansion.maximumPaths`.
    case tooManyPaths
    /// Expanding it would take more than the work budget allows.
    case tooComplex
}

/// Turns a filter tree into paths (disjunctive normal form), pushing negations down to atoms.
public enum PathExpansion {
    /// The most paths one filter may expand to; beyond it the filter is refused, never truncated.
    public static let maximumPaths = 64

    /// The paths of a normalised tree, within `budget` steps (comparisons of literals and
    /// elements moved), so that no tree can make expansion hang.
    public static func paths(of tree: FilterTree, within budget: WorkBudget = .admission)
        throws(ExpansionError)
        -> [FilterPath]
    {
        var budget = budget
        var paths: [FilterPath] = []
        var seen: Set<[Literal]> = []
        for conjunction in try expand(tree, negated: false, &budget) {
            guard let literals = try simplify(conjunction, &budget), seen.insert(literals).inserted else {
                continue
            }
            paths.append(FilterPath(sortedLiterals: literals))
        }
        return paths
    }

    /// The conjunctions whose disjunction equals `tree` (or its negation), each sorted and free of
    /// duplicates. Conjunctions that pair contradictory literals on the same bytes (IPv4's
    /// EtherType with IPv6's) are dropped as they form, so only alternatives that can match count
    /// towards `maximumPaths`; `simplify` finishes each survivor.
    private static func expand(_ tree: FilterTree, negated: Bool, _ budget: inout WorkBudget)
        throws(ExpansionError)
        -> [[Literal]]
    {
        try spend(1, &budget)
        switch tree {
        case .constant(let value):
            return value != negated ? [[]] : []
        case .atom(let atom):
            return [[Literal(atom, negated: negated)]]
        case .not(let child):
            return try expand(child, negated: !negated, &budget)
        case .and(let children) where !negated, .or(let children) where negated:
            // Atoms (and negated atoms) join every alternative: collect them once, then multiply
            // by the compound children only.
            var shared: [Literal] = []
            var compound: [FilterTree] = []
            for child in children {
                switch child {
                case .atom(let atom): shared.append(Literal(atom, negated: negated))
                case .not(.atom(let atom)): shared.append(Literal(atom, negated: !negated))
                default: compound.append(child)
                }
            }
            guard let sharedConjunction = try conjunction(of: shared, &budget) else { return [] }
            var product: [[Literal]] = [sharedConjunction]
            for child in compound {
                let alternatives = try expand(child, negated: negated, &budget)
                var next = Alternatives()
                for prefix in product {
                    for alternative in alternatives {
                        try spend(prefix.count, &budget)
                        var combined = prefix
                        var compatible = true
                        for literal in alternative where compatible {
                            compatible = try add(literal, to: &combined, &budget)
                        }
                        if compatible { try next.add(combined, &budget) }
                    }
                }
                product = next.conjunctions
                if product.isEmpty { return [] }
            }
            return product
        case .and(let children), .or(let children):
            var union = Alternatives()
            for child in children {
                for conjunction in try expand(child, negated: negated, &budget) {
                    try union.add(conjunction, &budget)
                }
            }
            return union.conjunctions
        }
    }

    /// Conjunctions in first-seen order, each sorted, none containing another (`a or (a and b)`
    /// is `a`), refused beyond `maximumPaths`. A linear search (there are at most
    /// `maximumPaths`) compares long conjunctions faster than hashing them.
    private struct Alternatives {
        private(set) var conjunctions: [[Literal]] = []

        mutating func add(_ conjunction: [Literal], _ budget: inout WorkBudget) throws(ExpansionError) {
            try spend(conjunctions.reduce(conjunction.count) { $0 + $1.count }, &budget)
            if conjunctions.contains(where: { isSubset($0, of: conjunction) }) { return }
            conjunctions.removeAll { isSubset(conjunction, of: $0) }
            conjunctions.append(conjunction)
            if conjunctions.count > maximumPaths { throw .tooManyPaths }
        }
    }

    private static func spend(_ steps: Int, _ budget: inout WorkBudget) throws(ExpansionError) {
        do {
            try budget.spend(steps)
        } catch {
            throw .tooComplex
        }
    }

    /// The literals of one conjunction sorted, without duplicates, as adding them one by one
    /// would leave them (`nil` if two on the same operand contradict), in one sort rather than
    /// an insertion each.
    private static func conjunction(of literals: [Literal], _ budget: inout WorkBudget) throws(ExpansionError)
        -> [Literal]?
    {
        var sorted: [Literal] = []
        sorted.reserveCapacity(literals.count)
        var runStart = 0
        for literal in literals.sorted() where sorted.last != literal {
            if sorted.last?.atom.operand != literal.atom.operand { runStart = sorted.count }
            try spend(sorted.count - runStart, &budget)
            for other in sorted[runStart...] where contradicts(other, literal) { return nil }
            sorted.append(literal)
        }
        return sorted
    }

    /// Whether every literal of the sorted `small` is in the sorted `large`.
    static func isSubset(_ small: [Literal], of large: [Literal]) -> Bool {
        guard small.count <= large.count else { return false }
        var index = 0
        for literal in small {
            while index < large.count && large[index] < literal { index += 1 }
            guard index < large.count && large[index] == literal else { return false }
            index += 1
        }
        return true
    }

    /// Adds `literal` to a sorted conjunction in place; `false` if it contradicts a literal that
    /// reads the same operand. Such literals sit together in canonical order, found by binary search.
    static func add(_ literal: Literal, to conjunction: inout [Literal], _ budget: inout WorkBudget)
        throws(ExpansionError) -> Bool
    {
        let operand = literal.atom.operand
        var low = 0
        var high = conjunction.count
        while low < high {
            let middle = (low + high) / 2
            if conjunction[middle].atom.operand < operand { low = middle + 1 } else { high = middle }
        }
        var insertion: Int?
        var index = low
        while index < conjunction.count, conjunction[index].atom.operand == operand {
            let other = conjunction[index]
            if other == literal { return true }
            if contradicts(other, literal) { return false }
            if insertion == nil, literal < other { insertion = index }
            index += 1
        }
        let position = insertion ?? index
        try spend(index - low + conjunction.count - position, &budget)
        conjunction.insert(literal, at: position)
        return true
    }

    /// Sorted, without duplicates or literals another one implies; `nil` if two contradict.
    static func simplify(_ conjunction: [Literal], _ budget: inout WorkBudget) throws(ExpansionError)
        -> [Literal]?
    {
        var kept: [Literal] = []
        var capturedTests = 0
        // Positive `!=` literals of one key at the end of `kept`: exclusions of different values
        // of one field never relate, so a long chain of them is not compared pairwise.
        var trailingExclusions = 0
        for literal in conjunction.sorted() where kept.last != literal {
            let isExclusion = isExclusion(literal)
            let skipped =
                isExclusion && trailingExclusions > 0 && kept.last?.key == literal.key
                ? trailingExclusions : 0
            let related = relatedIndices(
                of: literal, in: kept, skippingLast: skipped, hasCapturedTests: capturedTests > 0)
            try spend(related.count + (capturedTests > 0 || literal.atom.mask == 0 ? kept.count : 0), &budget)
            if related.contains(where: { implies(kept[$0], literal) }) { continue }
            if related.contains(where: { contradicts(kept[$0], literal) }) { return nil }
            for index in related.reversed() where implies(literal, kept[index]) {
                try spend(kept.count - index, &budget)
                if kept[index].atom.mask == 0 { capturedTests -= 1 }
                kept.remove(at: index)
            }
            kept.append(literal)
            if literal.atom.mask == 0 { capturedTests += 1 }
            trailingExclusions = isExclusion ? skipped + 1 : 0
        }
        // Already sorted: literals are appended in sorted order and removals keep the order.
        return kept
    }

    /// The indices, ascending, of the literals of `kept` (sorted, all ordered before `literal`)
    /// that may imply or contradict `literal`: every other pair is `independent`. Those reading the
    /// same bytes are the tail of `kept`; bytes-captured tests relate to any offset of their base.
    /// The last `skipped` literals are exclusions of `literal`'s own field, independent of it.
    private static func relatedIndices(
        of literal: Literal, in kept: [Literal], skippingLast skipped: Int, hasCapturedTests: Bool
    ) -> [Int] {
        if literal.atom.mask == 0 { return Array(kept.indices) }
        let end = kept.count - skipped
        var tail = end
        while tail > 0, kept[tail - 1].atom.operand == literal.atom.operand { tail -= 1 }
        let capturedTests = hasCapturedTests ? kept[..<tail].indices.filter { kept[$0].atom.mask == 0 } : []
        return capturedTests + Array(tail..<end)
    }

    /// A positive `!=`: two of them on one field, excluding different values, never relate.
    @inline(__always)
    static func isExclusion(_ literal: Literal) -> Bool {
        !literal.isNegated && literal.atom.relation == .notEqual
    }

    /// True when `a` and `b` cannot constrain each other: they read different bytes and neither
    /// is a bytes-captured test, or they exclude different values of one field. A cheap filter
    /// before the full comparison.
    @inline(__always)
    static func independent(_ a: Literal, _ b: Literal) -> Bool {
        switch (a.atom.operand, b.atom.operand) {
        case (.load(let x), .load(let y)):
            if x.offset != y.offset || x.width != y.width { return a.atom.mask != 0 && b.atom.mask != 0 }
        }
        // Two different exclusions of one field (a long `!=` chain) neither imply nor contradict.
        return a.atom.relation == .notEqual && b.atom.relation == .notEqual && !a.isNegated && !b.isNegated
            && a.atom.mask == b.atom.mask && a.atom.value != b.atom.value
    }

    /// `a` true guarantees `b` true.
    static func implies(_ a: Literal, _ b: Literal) -> Bool {
        if independent(a, b) { return false }
        switch (a.isNegated, b.isNegated) {
        case (false, false): return a == b || Normalizer.relate(fact: a.atom, atom: b.atom) == true
        case (true, true): return a == b
        default: return false
        }
    }

    /// `a` and `b` cannot both hold (sound, not complete: `false` means "not proven").
    static func contradicts(_ a: Literal, _ b: Literal) -> Bool {
        if independent(a, b) { return false }
        switch (a.isNegated, b.isNegated) {
        case (false, false):
            return Normalizer.relate(fact: a.atom, atom: b.atom) == false
                || Normalizer.relate(fact: b.atom, atom: a.atom) == false
        case (false, true):
            return Normalizer.relate(fact: a.atom, atom: b.atom) == true
        case (true, false):
            return Normalizer.relate(fact: b.atom, atom: a.atom) == true
        case (true, true):
            return false
        }
    }
}
