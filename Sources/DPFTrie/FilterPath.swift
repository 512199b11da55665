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

/// A filter whose alternatives that can match outnumber `PathExpansion.maximumPaths`.
public struct ExpansionError: Error, Sendable, Equatable {}

/// Turns a filter tree into paths (disjunctive normal form), pushing negations down to atoms.
public enum PathExpansion {
    /// The most paths one filter may expand to; beyond it the filter is refused, never truncated.
    public static let maximumPaths = 64

    public static func paths(of tree: FilterTree) throws(ExpansionError) -> [FilterPath] {
        var paths: [FilterPath] = []
        var seen: Set<[Literal]> = []
        for conjunction in try expand(tree, negated: false) {
            guard let literals = simplify(conjunction), seen.insert(literals).inserted else { continue }
            paths.append(FilterPath(sortedLiterals: literals))
        }
        return paths
    }

    /// The conjunctions whose disjunction equals `tree` (or its negation), each sorted and free of
    /// duplicates. Conjunctions that pair contradictory literals on the same bytes (IPv4's
    /// EtherType with IPv6's) are dropped as they form, so only alternatives that can match count
    /// towards `maximumPaths`; `simplify` finishes each survivor.
    private static func expand(_ tree: FilterTree, negated: Bool) throws(ExpansionError) -> [[Literal]] {
        switch tree {
        case .constant(let value):
            return value != negated ? [[]] : []
        case .atom(let atom):
            return [[Literal(atom, negated: negated)]]
        case .not(let child):
            return try expand(child, negated: !negated)
        case .and(let children) where !negated, .or(let children) where negated:
            // Atoms (and negated atoms) join every alternative: collect them once, then multiply
            // by the compound children only.
            var shared: [Literal] = []
            var compound: [FilterTree] = []
            for child in children {
                switch child {
                case .atom(let atom):
                    guard add(Literal(atom, negated: negated), to: &shared) else { return [] }
                case .not(.atom(let atom)):
                    guard add(Literal(atom, negated: !negated), to: &shared) else { return [] }
                default: compound.append(child)
                }
            }
            var product: [[Literal]] = [shared]
            for child in compound {
                let alternatives = try expand(child, negated: negated)
                var next = Alternatives()
                for prefix in product {
                    for alternative in alternatives {
                        var combined = prefix
                        if alternative.allSatisfy({ add($0, to: &combined) }) { try next.add(combined) }
                    }
                }
                product = next.conjunctions
                if product.isEmpty { return [] }
            }
            return product
        case .and(let children), .or(let children):
            var union = Alternatives()
            for child in children {
                for conjunction in try expand(child, negated: negated) { try union.add(conjunction) }
            }
            return union.conjunctions
        }
    }

    /// Conjunctions in first-seen order, each sorted, none containing another (`a or (a and b)`
    /// is `a`), refused beyond `maximumPaths`. A linear search (there are at most
    /// `maximumPaths`) compares long conjunctions faster than hashing them.
    private struct Alternatives {
        private(set) var conjunctions: [[Literal]] = []

        mutating func add(_ conjunction: [Literal]) throws(ExpansionError) {
            if conjunctions.contains(where: { isSubset($0, of: conjunction) }) { return }
            conjunctions.removeAll { isSubset(conjunction, of: $0) }
            conjunctions.append(conjunction)
            if conjunctions.count > maximumPaths { throw ExpansionError() }
        }
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
    static func add(_ literal: Literal, to conjunction: inout [Literal]) -> Bool {
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
        conjunction.insert(literal, at: insertion ?? index)
        return true
    }

    /// Sorted, without duplicates or literals another one implies; `nil` if two contradict.
    static func simplify(_ conjunction: [Literal]) -> [Literal]? {
        var kept: [Literal] = []
        var capturedTests = 0
        for literal in conjunction.sorted() where kept.last != literal {
            let related = relatedIndices(of: literal, in: kept, hasCapturedTests: capturedTests > 0)
            if related.contains(where: { implies(kept[$0], literal) }) { continue }
            if related.contains(where: { contradicts(kept[$0], literal) }) { return nil }
            for index in related.reversed() where implies(literal, kept[index]) {
                if kept[index].atom.mask == 0 { capturedTests -= 1 }
                kept.remove(at: index)
            }
            kept.append(literal)
            if literal.atom.mask == 0 { capturedTests += 1 }
        }
        // Already sorted: literals are appended in sorted order and removals keep the order.
        return kept
    }

    /// The indices, ascending, of the literals of `kept` (sorted, all ordered before `literal`)
    /// that may imply or contradict `literal`: every other pair is `independent`. Those reading the
    /// same bytes are the tail of `kept`; bytes-captured tests relate to any offset of their base.
    private static func relatedIndices(of literal: Literal, in kept: [Literal], hasCapturedTests: Bool)
        -> [Int]
    {
        if literal.atom.mask == 0 { return Array(kept.indices) }
        var tail = kept.count
        while tail > 0, kept[tail - 1].atom.operand == literal.atom.operand { tail -= 1 }
        let capturedTests = hasCapturedTests ? kept[..<tail].indices.filter { kept[$0].atom.mask == 0 } : []
        return capturedTests + Array(tail..<kept.count)
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
