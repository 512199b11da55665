import DPFFilter

/// An atom or its negation: one test on one edge of the trie.
public struct Literal: Sendable, Hashable, Comparable {
    public var atom: Atom
    public var isNegated: Bool

    public init(_ atom: Atom, negated: Bool = false) {
        self.atom = atom
        self.isNegated = negated
    }

    /// The field this literal tests; literals with equal keys share a trie node.
    public var key: TestKey { TestKey(operand: atom.operand, mask: atom.mask) }

    /// A positive equality, the kind a hash fan-out dispatches on.
    public var isEquality: Bool { !isNegated && atom.relation == .equal }

    /// Canonical order: by field first (so protocol layers come outermost first), then positive
    /// before negated, then relation and value.
    public static func < (lhs: Literal, rhs: Literal) -> Bool {
        if lhs.key != rhs.key { return lhs.key < rhs.key }
        if lhs.isNegated != rhs.isNegated { return !lhs.isNegated }
        return (lhs.atom.relation, lhs.atom.value) < (rhs.atom.relation, rhs.atom.value)
    }
}

/// The field a trie node tests: the operand (where to load, how wide) and the mask. Literals
/// that may constrain each other (apart from bytes-captured tests) share the operand, and the
/// canonical order keeps them adjacent.
public struct TestKey: Sendable, Hashable, Comparable {
    public let operand: Operand
    public let mask: UInt32

    public init(operand: Operand, mask: UInt32) {
        self.operand = operand
        self.mask = mask
    }

    public static func < (lhs: TestKey, rhs: TestKey) -> Bool {
        if lhs.operand != rhs.operand { return lhs.operand < rhs.operand }
        return lhs.mask < rhs.mask
    }
}
