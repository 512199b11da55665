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
    public var key: TestKey {
        TestKey(base: atom.base, offset: atom.offset, width: atom.width, mask: atom.mask)
    }

    /// The bytes this literal reads: literals that may constrain each other (apart from
    /// bytes-captured tests) read the same bytes, and canonical order keeps them adjacent.
    var bytes: LoadedBytes { LoadedBytes(base: atom.base, offset: atom.offset, width: atom.width) }

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

/// The field a trie node tests: where to load, how wide, and under which mask.
public struct TestKey: Sendable, Hashable, Comparable {
    public var base: HeaderBase
    public var offset: Int
    public var width: Int
    public var mask: UInt32

    public static func < (lhs: TestKey, rhs: TestKey) -> Bool {
        if lhs.base != rhs.base { return lhs.base < rhs.base }
        return (lhs.offset, lhs.width, lhs.mask) < (rhs.offset, rhs.width, rhs.mask)
    }
}

/// Where a literal loads from, without its mask: the prefix of `TestKey`'s order.
struct LoadedBytes: Hashable, Comparable {
    var base: HeaderBase
    var offset: Int
    var width: Int

    static func < (lhs: LoadedBytes, rhs: LoadedBytes) -> Bool {
        if lhs.base != rhs.base { return lhs.base < rhs.base }
        return (lhs.offset, lhs.width) < (rhs.offset, rhs.width)
    }
}
