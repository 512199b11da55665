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
            let load = self.literals[index].atom.load
            var bits: UInt32 = 0
            while index < self.literals.count && self.literals[index].atom.load == load {
                bits |= self.literals[index].atom.mask
                index += 1
            }
            specificity += bits.nonzeroBitCount
        }
        self.specificity = specificity
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
        var paths: [FilterPath] = []
        for conjunction in try expand(tree, negated: false) {
            guard let literals = simplify(conjunction), !paths.contains(where: { $0.literals == literals })
            else { continue }
            paths.append(FilterPath(sortedLiterals: literals))
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
            var product: [[Literal]] = [shared]
            for child in compound {
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
        for literal in conjunction.sorted() where kept.last != literal {
            if kept.contains(where: { implies($0, literal) }) { continue }
            if kept.contains(where: { contradicts($0, literal) }) { return nil }
            kept.removeAll { implies(literal, $0) }
            kept.append(literal)
        }
        // Already sorted: literals are appended in sorted order and removals keep the order.
        return kept
    }

    /// True when `a` and `b` cannot constrain each other: they read different bytes and neither
    /// is a bytes-captured test. A cheap filter before the full comparison.
    @inline(__always)
    static func independent(_ a: Literal, _ b: Literal) -> Bool {
        (a.atom.offset != b.atom.offset || a.atom.width != b.atom.width) && a.atom.mask != 0
            && b.atom.mask != 0
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
