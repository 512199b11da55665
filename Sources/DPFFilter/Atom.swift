/// A packet-derived step in locating a header: DPF's *shift* atom. The base moves forward by
/// `(load(width) at previousBase + offset) & mask) << scale` bytes; IPv4's header length is
/// `Shift(offset: 14, width: 1, mask: 0x0f, scale: 2)` on Ethernet.
public struct Shift: Sendable, Hashable, Comparable {
    public var offset: Int
    public var width: Int
    public var mask: UInt32
    public var scale: Int

    public init(offset: Int, width: Int, mask: UInt32, scale: Int) {
        precondition([1, 2, 4].contains(width) && (0...3).contains(scale))
        self.offset = offset
        self.width = width
        self.mask = mask
        self.scale = scale
    }

    public static func < (lhs: Shift, rhs: Shift) -> Bool {
        (lhs.offset, lhs.width, lhs.mask, lhs.scale) < (rhs.offset, rhs.width, rhs.mask, rhs.scale)
    }
}

/// Where an atom's offset is measured from: the packet start plus the sum of zero or more shifts,
/// each loaded relative to the base built so far. Constant parts live in the atom offsets, so two
/// atoms that read the same bytes always have equal bases.
public struct HeaderBase: Sendable, Hashable, Comparable {
    public var shifts: [Shift]

    public init(_ shifts: [Shift] = []) { self.shifts = shifts }

    public static let packetStart = HeaderBase()

    public var isPacketStart: Bool { shifts.isEmpty }

    /// The base the last shift starts from (the packet start's parent is itself).
    public var parent: HeaderBase { HeaderBase(Array(shifts.dropLast())) }

    public static func < (lhs: HeaderBase, rhs: HeaderBase) -> Bool {
        if lhs.shifts.count != rhs.shifts.count { return lhs.shifts.count < rhs.shifts.count }
        return lhs.shifts.lexicographicallyPrecedes(rhs.shifts)
    }
}

/// How an atom compares the masked load with its value.
/// Cases are declared in canonical sort order: a range's lower bound sorts before its upper bound.
public enum Relation: String, Sendable, Hashable, CaseIterable, Comparable {
    case equal = "=="
    case notEqual = "!="
    case greater = ">"
    case greaterOrEqual = ">="
    case less = "<"
    case lessOrEqual = "<="

    public func holds(_ lhs: UInt32, _ rhs: UInt32) -> Bool {
        switch self {
        case .equal: return lhs == rhs
        case .notEqual: return lhs != rhs
        case .less: return lhs < rhs
        case .lessOrEqual: return lhs <= rhs
        case .greater: return lhs > rhs
        case .greaterOrEqual: return lhs >= rhs
        }
    }

    public static func < (lhs: Relation, rhs: Relation) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A DPF atom: load `width` big-endian bytes at `base + offset`, AND with `mask`, compare with
/// `value`. If the load reaches past the captured bytes the atom is false, whatever the relation.
/// An atom with mask 0 and `== 0` therefore tests only that the bytes were captured.
public struct Atom: Sendable, Hashable, Comparable {
    public var base: HeaderBase
    public var offset: Int
    public var width: Int
    public var mask: UInt32
    public var relation: Relation
    public var value: UInt32

    public init(
        base: HeaderBase = .packetStart, offset: Int, width: Int, mask: UInt32? = nil,
        relation: Relation = .equal, value: UInt32
    ) {
        precondition([1, 2, 4].contains(width), "atom width must be 1, 2 or 4")
        self.base = base
        self.offset = offset
        self.width = width
        self.mask = mask ?? Atom.fullMask(width: width)
        self.relation = relation
        self.value = value
    }

    public static func fullMask(width: Int) -> UInt32 { width == 4 ? .max : (1 << (8 * UInt32(width))) - 1 }

    /// Two atoms read the same bytes when they share base, offset and width.
    public var load: Load { Load(base: base, offset: offset, width: width) }

    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        if lhs.base != rhs.base { return lhs.base < rhs.base }
        return (lhs.offset, lhs.width, lhs.mask, lhs.relation, lhs.value)
            < (rhs.offset, rhs.width, rhs.mask, rhs.relation, rhs.value)
    }
}

/// The bytes an atom reads, without what it does with them.
public struct Load: Sendable, Hashable {
    public var base: HeaderBase
    public var offset: Int
    public var width: Int
}
