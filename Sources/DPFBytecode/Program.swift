/// A compiled demultiplexer: instructions, dispatch tables, accept records and the names of the
/// filters they stand for. Runs only after `Verifier` has turned it into a `VerifiedProgram`.
public struct Program: Sendable, Hashable {
    public var instructions: [Instruction]
    public var tables: [DispatchTable]
    public var accepts: [AcceptRecord]
    /// Base registers the program uses; register 0 is the packet start.
    public var registerCount: Int
    /// Filter names, indexed by `AcceptRecord.filter` (empty where no filter has that index).
    public var filterNames: [String]
    /// The app of each filter, indexed like `filterNames`.
    public var filterApps: [String]
    /// The pcap LINKTYPE_ value of the packets the program reads (1 is Ethernet).
    public var linkType: UInt32

    /// `filterApps`, when given, names the app of each filter in `filterNames`.
    public init(
        instructions: [Instruction], tables: [DispatchTable] = [], accepts: [AcceptRecord] = [],
        registerCount: Int = 1, filterNames: [String] = [], filterApps: [String]? = nil, linkType: UInt32 = 1
    ) {
        precondition(filterApps == nil || filterApps!.count == filterNames.count, "one app per filter name")
        self.instructions = instructions
        self.tables = tables
        self.accepts = accepts
        self.registerCount = registerCount
        self.filterNames = filterNames
        self.filterApps = filterApps ?? Array(repeating: "", count: filterNames.count)
        self.linkType = linkType
    }

    /// Bytes of instructions, tables and accept records.
    public var byteCount: Int {
        instructions.count * Instruction.encodedSize + tables.reduce(0) { $0 + $1.byteCount }
            + accepts.count * AcceptRecord.encodedSize
    }
}

/// What an `accept` offers: a filter, whether it is a tap, and how it ranks (priority, then
/// specificity of the matching path, then install order).
public struct AcceptRecord: Sendable, Hashable {
    public var filter: UInt32
    public var isTap: Bool
    public var priority: Int32
    public var specificity: Int32
    public var sequence: UInt64

    public init(filter: UInt32, isTap: Bool, priority: Int32, specificity: Int32, sequence: UInt64) {
        self.filter = filter
        self.isTap = isTap
        self.priority = priority
        self.specificity = specificity
        self.sequence = sequence
    }

    public static let encodedSize = 24

    /// True if `self` beats `other` for exclusive ownership.
    @inline(__always)
    public func beats(_ other: AcceptRecord) -> Bool {
        if priority != other.priority { return priority > other.priority }
        if specificity != other.specificity { return specificity > other.specificity }
        return sequence < other.sequence
    }
}

/// A hash table from masked field values to jump targets. Built collision-free when it can be
/// (every key in its home slot, so a lookup is one multiply, one shift and one compare), with
/// linear probing otherwise.
public struct DispatchTable: Sendable, Hashable {
    public static let empty = UInt32.max
    /// A target with this bit set is *terminal*: offer accept record `target & ~terminalBit`, then
    /// continue at the dispatch's own `else` target. Leaves that only accept cost no instructions.
    public static let terminalBit: UInt32 = 0x8000_0000

    public static func isTerminal(_ target: UInt32) -> Bool { target != empty && target & terminalBit != 0 }

    public var keys: [UInt32]
    /// `empty` marks a free slot.
    public var targets: [UInt32]
    public var multiplier: UInt64
    public var collisionFree: Bool

    public init(keys: [UInt32], targets: [UInt32], multiplier: UInt64, collisionFree: Bool) {
        self.keys = keys
        self.targets = targets
        self.multiplier = multiplier
        self.collisionFree = collisionFree
    }

    public var capacity: Int { keys.count }
    public var shift: UInt64 { UInt64(64 - capacity.trailingZeroBitCount) }
    public var byteCount: Int { capacity * 8 + 16 }

    @inline(__always)
    public func home(of key: UInt32) -> Int { Int(truncatingIfNeeded: (UInt64(key) &* multiplier) >> shift) }

    /// The entries, by key.
    public var entries: [(key: UInt32, target: UInt32)] {
        zip(keys, targets).filter { $0.1 != DispatchTable.empty }.map { ($0.0, $0.1) }.sorted {
            $0.key < $1.key
        }
    }

    /// Builds a table for `entries` (distinct keys), collision-free if a multiplier found within a few
    /// tries at up to four slots per entry allows it.
    public static func build(_ entries: [(key: UInt32, target: UInt32)]) -> DispatchTable {
        let multipliers: [UInt64] = [
            0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0xD6E8_FEB8_6659_FD93,
            0xFF51_AFD7_ED55_8CCD, 0xC4CE_B9FE_1A85_EC53, 0x8538_ECB5_BD45_6EA3, 0x2545_F491_4F6C_DD1D,
        ]
        var capacity = 2
        while capacity < 2 * entries.count { capacity *= 2 }
        for attempt in 0..<3 {
            for multiplier in multipliers {
                if let table = place(
                    entries, capacity: capacity << attempt, multiplier: multiplier, probing: false)
                {
                    return table
                }
            }
        }
        return place(entries, capacity: capacity, multiplier: multipliers[0], probing: true)!
    }

    private static func place(
        _ entries: [(key: UInt32, target: UInt32)], capacity: Int, multiplier: UInt64, probing: Bool
    )
        -> DispatchTable?
    {
        var table = DispatchTable(
            keys: Array(repeating: 0, count: capacity), targets: Array(repeating: empty, count: capacity),
            multiplier: multiplier,
            collisionFree: !probing)
        for (key, target) in entries {
            var slot = table.home(of: key)
            while table.targets[slot] != empty {
                guard probing else { return nil }
                slot = (slot + 1) & (capacity - 1)
            }
            table.keys[slot] = key
            table.targets[slot] = target
        }
        return table
    }
}
