/// The delivery rule (DESIGN.md) as one number. A packet's exclusive owner is the matching
/// non-tap filter with the highest priority, then the most specific matching path, then the one
/// installed first; packing those three into one 64-bit word makes "who wins" a single unsigned
/// comparison, written once here for every engine (the reference evaluator, the trie walker, the
/// bytecode interpreter and native code).
///
/// Layout: priority in bits 48–63, specificity (header bits the matching path tests) in 32–47,
/// and the install order complemented in 0–31, so an earlier filter wins a full tie. No filter's
/// key is 0 (`none`): orders stay below `UInt32.max`.
public struct DeliveryKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    /// Below every filter's key: what "no candidate yet" compares as.
    public static let none = DeliveryKey(rawValue: 0)
    public static let maximumPriority = Int(UInt16.max)
    public static let maximumSpecificity = Int(UInt16.max)
    /// Orders run from 0 to this; `UInt32.max` would make a zero key.
    public static let maximumOrder = UInt32.max - 1
    /// Where the specificity sits, for engines that add it to a precomputed `rank`.
    public static let specificityShift: UInt64 = 32

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `order` ranks filters by installation (lower is earlier); it must not exceed `maximumOrder`.
    public init(priority: UInt16, specificity: UInt16, order: UInt32) {
        precondition(order <= DeliveryKey.maximumOrder, "install order \(order) out of range")
        rawValue = DeliveryKey.candidate(
            DeliveryKey.rank(priority: priority, order: order), specificity: specificity)
    }

    /// A filter's key without its specificity, which each matching path adds (see
    /// `specificityShift`): engines precompute this once per filter.
    @inline(__always)
    public static func rank(priority: UInt16, order: UInt32) -> UInt64 {
        UInt64(priority) << 48 | UInt64(~order)
    }

    /// The key of a filter of precomputed `rank` matched by a path of `specificity`.
    @inline(__always)
    public static func candidate(_ rank: UInt64, specificity: UInt16) -> UInt64 {
        rank | UInt64(specificity) << specificityShift
    }

    public var priority: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 48) }
    public var specificity: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 32) }
    /// The install order the key carries (meaningless for `none`).
    public var order: UInt32 { ~UInt32(truncatingIfNeeded: rawValue) }

    public static func < (lhs: DeliveryKey, rhs: DeliveryKey) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        self == .none ? "none" : "priority \(priority) specificity \(specificity) order \(order)"
    }
}
