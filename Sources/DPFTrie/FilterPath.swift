import DPFFilter

/// One conjunction of a filter in disjunctive normal form: the literals a packet must satisfy,
/// sorted canonically, and how specific the path is.
public struct FilterPath: Sendable, Hashable {
    public let literals: [Literal]
    /// Header bits tested: for each loaded field, the bits its literals' masks cover. The delivery
    /// rule prefers the most specific match.
    public let specificity: Int

    public init(literals: [Literal]) {
        self.literals = literals.sorted()
        var bits: [Load: UInt32] = [:]
        for literal in literals { bits[literal.atom.load, default: 0] |= literal.atom.mask }
        specificity = bits.values.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}

/// A filter that expands to more paths than `PathExpansion.maximumPaths`.
public struct ExpansionError: Error, Sendable, Equatable {
    public let paths: Int
}

/// Turns a filter tree into paths (disjunctive normal form), pushing negations down to atoms.
public enum PathExpansion {
    /// The most paths one filter may expand to; beyond it the filter is refused, never truncated.
    public static let maximumPaths = 64

    public static func paths(of tree: FilterTree) throws(ExpansionError) -> [FilterPath] {
        var unique = Set<[Literal]>()
        var paths: [FilterPath] = []
        for conjunction in try expand(tree, negated: false) {
            guard let literals = simplify(conjunction), unique.insert(literals).inserted else { continue }
            paths.append(FilterPath(literals: literals))
        }
        return paths
    }

    /// The conjunctions whose disjunction equals `tree` (or its negation).
    private static func expand(_ tree: FilterTree, negated: Bool) throws(ExpansionError) -> [[Literal]] {
        switch tree {
        case .constant(let value):
            return value != negated ? [[]] : []
        case .atom(let atom):
            return [[Literal(atom, negated: negated)]]
        case .not(let child):
            return try expand(child, negated: !negated)
        case .and(let children) where !negated, .or(let children) where negated:
            var product: [[Literal]] = [[]]
            for child in children {
                let alternatives = try expand(child, negated: negated)
                guard product.count * alternatives.count <= maximumPaths else {
                    throw ExpansionError(paths: product.count * alternatives.count)
                }
                product = product.flatMap { prefix in alternatives.map { prefix + $0 } }
            }
            return product
        case .and(let children), .or(let children):
            var union: [[Literal]] = []
            for child in children {
                union += try expand(child, negated: negated)
                guard union.count <= maximumPaths else { throw ExpansionError(paths: union.count) }
            }
            return union
        }
    }

    /// Sorted, without duplicates or literals another one implies; `nil` if two contradict.
    static func simplify(_ conjunction: [Literal]) -> [Literal]? {
        var kept: [Literal] = []
        for literal in Set(conjunction).sorted() {
            if kept.contains(where: { implies($0, literal) }) { continue }
            if kept.contains(where: { contradicts($0, literal) }) { return nil }
            kept.removeAll { implies(literal, $0) }
            kept.append(literal)
        }
        return kept.sorted()
    }

    /// `a` true guarantees `b` true.
    static func implies(_ a: Literal, _ b: Literal) -> Bool {
        switch (a.isNegated, b.isNegated) {
        case (false, false): return a == b || Normalizer.relate(fact: a.atom, atom: b.atom) == true
        case (true, true): return a == b
        default: return false
        }
    }

    /// `a` and `b` cannot both hold (sound, not complete: `false` means "not proven").
    public static func contradicts(_ a: Literal, _ b: Literal) -> Bool {
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
