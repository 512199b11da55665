import DPFWire

/// A packet-derived step in locating a header: DPF's *shift* atom. The base moves forward by
/// `(load(width) at previousBase + offset) & mask) << scale` bytes; IPv4's header length is
/// `Shift(offset: 14, width: 1, mask: 0x0f, scale: 2)` on Ethernet.
///
/// An immutable value: the initialiser refuses what no engine can run (a width other than 1, 2
/// or 4, a scale above 3, an offset outside the packet window) and keeps only the mask bits the
/// load has.
public struct Shift: Sendable, Hashable, Comparable {
    public let offset: Int
    public let width: Int
    public let mask: UInt32
    public let scale: Int

    public init(offset: Int, width: Int, mask: UInt32, scale: Int) throws(FilterError) {
        try Load.check(offset: offset, width: width)
        guard (0...Shift.maximumScale).contains(scale) else {
            throw FilterError(.invalidShift, "a header-length shift scales by 1, 2, 4 or 8, not 2^\(scale)")
        }
        self.offset = offset
        self.width = width
        self.mask = mask & PacketLoad.fullMask(width: width)
        self.scale = scale
    }

    /// The largest scale: a shift multiplies the masked load by at most 2^3.
    public static let maximumScale = 3

    public static func < (lhs: Shift, rhs: Shift) -> Bool {
        (lhs.offset, lhs.width, lhs.mask, lhs.scale) < (rhs.offset, rhs.width, rhs.mask, rhs.scale)
    }
}

/// Where a load's offset is measured from: the packet start plus the sum of zero or more shifts,
/// each loaded relative to the base built so far. Constant parts live in the load offsets, so two
/// loads that read the same bytes always have equal bases.
public struct HeaderBase: Sendable, Hashable, Comparable {
    public let shifts: [Shift]

    /// A chain of at most `maximumShifts` shifts (protocols nest a handful of variable-length
    /// headers; the bound keeps hostile bases from costing unbounded work per packet).
    public init(_ shifts: [Shift] = []) throws(FilterError) {
        guard shifts.count <= HeaderBase.maximumShifts else {
            throw FilterError(
                .invalidShift,
                "a header base chains \(shifts.count) shifts, more than \(HeaderBase.maximumShifts)")
        }
        self.shifts = shifts
    }

    private init(trusted shifts: [Shift]) { self.shifts = shifts }

    public static let maximumShifts = 8

    public static let packetStart = HeaderBase(trusted: [])

    public var isPacketStart: Bool { shifts.isEmpty }

    /// The base the last shift starts from (the packet start's parent is itself).
    public var parent: HeaderBase { HeaderBase(trusted: Array(shifts.dropLast())) }

    /// This base moved on by one more shift.
    public func appending(_ shift: Shift) throws(FilterError) -> HeaderBase {
        try HeaderBase(shifts + [shift])
    }

    public static func < (lhs: HeaderBase, rhs: HeaderBase) -> Bool {
        if lhs.shifts.count != rhs.shifts.count { return lhs.shifts.count < rhs.shifts.count }
        return lhs.shifts.lexicographicallyPrecedes(rhs.shifts)
    }
}

/// `width` big-endian bytes at `base + offset`: the one kind of packet read filters make today.
public struct Load: Sendable, Hashable, Comparable {
    public let base: HeaderBase
    public let offset: Int
    public let width: Int

    /// Refuses widths other than 1, 2 and 4 and offsets outside the 64 KiB packet window.
    public init(base: HeaderBase = .packetStart, offset: Int, width: Int) throws(FilterError) {
        try Load.check(offset: offset, width: width)
        self.base = base
        self.offset = offset
        self.width = width
    }

    /// One past the last byte read, relative to the base.
    public var end: Int { offset + width }

    static func check(offset: Int, width: Int) throws(FilterError) {
        guard [1, 2, 4].contains(width) else {
            throw FilterError(.invalidWidth, "a load is 1, 2 or 4 bytes wide, not \(width)")
        }
        guard offset >= 0, offset <= PacketLoad.window - width else {
            throw FilterError(
                .outsidePacketWindow,
                "a \(width)-byte load at offset \(offset) leaves the 64 KiB packet window")
        }
    }

    public static func < (lhs: Load, rhs: Load) -> Bool {
        if lhs.base != rhs.base { return lhs.base < rhs.base }
        return (lhs.offset, lhs.width) < (rhs.offset, rhs.width)
    }
}

/// What an atom compares: a value computed from the packet. Today the only kind is a load; a
/// new kind (arithmetic over loaded fields) is a new case, and every engine's `switch` over this
/// enum is where it must be taught.
public enum Operand: Sendable, Hashable, Comparable {
    case load(Load)

    /// Bytes in the value before masking (1, 2 or 4).
    public var width: Int {
        switch self {
        case .load(let load): load.width
        }
    }
}

/// A DPF atom: compute the operand, AND with `mask`, compare with `value`. If a load reaches past
/// the captured bytes the atom is false, whatever the relation. An atom with mask 0 and `== 0`
/// therefore tests only that the bytes were captured.
///
/// An immutable value; the mask keeps only bits the operand has.
public struct Atom: Sendable, Hashable, Comparable {
    public let operand: Operand
    public let mask: UInt32
    public let relation: Relation
    public let value: UInt32

    public init(_ operand: Operand, mask: UInt32? = nil, relation: Relation = .equal, value: UInt32) {
        let fullMask = PacketLoad.fullMask(width: operand.width)
        self.operand = operand
        self.mask = (mask ?? fullMask) & fullMask
        self.relation = relation
        self.value = value
    }

    /// An atom over a load; throws if the load is not one an engine can run (see `Load.init`).
    public init(
        base: HeaderBase = .packetStart, offset: Int, width: Int, mask: UInt32? = nil,
        relation: Relation = .equal, value: UInt32
    ) throws(FilterError) {
        self.init(
            .load(try Load(base: base, offset: offset, width: width)), mask: mask, relation: relation,
            value: value)
    }

    /// The same test with another relation and value.
    public func with(relation: Relation, value: UInt32) -> Atom {
        Atom(operand, mask: mask, relation: relation, value: value)
    }

    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        if lhs.operand != rhs.operand { return lhs.operand < rhs.operand }
        return (lhs.mask, lhs.relation, lhs.value) < (rhs.mask, rhs.relation, rhs.value)
    }
}
