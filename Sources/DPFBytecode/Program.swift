/// A compiled demultiplexer: instructions, dispatch tables and the filters they accept. Runs only
/// after `Verifier` has turned it into a `VerifiedProgram`.
///
/// Filters are numbered in install order, so the number is also the final tie-break of the
/// delivery rule (the earlier filter wins; see `DeliveryKey`); `accept` instructions and terminal
/// table entries name filters by that number and carry the specificity of the path that reached
/// them. Each filter also carries its stable id, the one the trie gave it, which means the same
/// filter in every program lowered from that trie, while a number is only valid for its program.
public struct Program: Sendable, Hashable {
    public var instructions: [Instruction]
    public var tables: [DispatchTable]
    /// Every filter the program can accept, in install order.
    public var filters: [ProgramFilter]
    /// Base registers the program uses; register 0 is the packet start.
    public var registerCount: Int
    /// The pcap LINKTYPE_ value of the packets the program reads (1 is Ethernet).
    public var linkType: UInt32

    public init(
        instructions: [Instruction], tables: [DispatchTable] = [], filters: [ProgramFilter] = [],
        registerCount: Int = 1, linkType: UInt32 = 1
    ) {
        self.instructions = instructions
        self.tables = tables
        self.filters = filters
        self.registerCount = registerCount
        self.linkType = linkType
    }

    /// The program's encoded size, as the ISA defines it: 24-byte instruction words, tables (a
    /// 16-byte header, then their slots) and a 4-byte rank word per filter, as laid out in a
    /// `.dpfc` file (names and apps are metadata for reports, and the file header and checksum are
    /// not counted). This is the size the `--emit bytecode` header and the Bytecode benchmark print.
    /// The interpreter runs from a larger decoded form: 32-byte steps and 8-byte ranks.
    public var byteCount: Int {
        instructions.count * Instruction.encodedSize + tables.reduce(0) { $0 + $1.byteCount }
            + filters.count * ProgramFilter.rankSize
    }

    /// Rewrites every jump target with `transform`: the targets of instructions that have one and
    /// of table entries that lead into the code (see `DispatchTable.mapTargets`).
    /// The apps of the filters, in order of their first filter, and each filter's app as an
    /// index into them: a verdict's filter number reaches its app (and the app's ring) with one
    /// array read.
    public var appIndex: (apps: [String], appOfFilter: [Int32]) {
        var index: [String: Int32] = [:]
        var apps: [String] = []
        let appOfFilter = filters.map { filter in
            if let known = index[filter.app] { return known }
            index[filter.app] = Int32(apps.count)
            apps.append(filter.app)
            return Int32(apps.count - 1)
        }
        return (apps, appOfFilter)
    }

    public mutating func retarget(_ transform: (UInt32) -> UInt32) {
        for index in instructions.indices where instructions[index].opcode.hasTarget {
            instructions[index].target = transform(instructions[index].target)
        }
        for index in tables.indices { tables[index].mapTargets(transform) }
    }
}

/// A filter as the program knows it: who it is and how it ranks.
public struct ProgramFilter: Sendable, Hashable {
    /// The filter's stable id (`FilterID` in the trie): never reused for another filter, and
    /// strictly increasing along a program's filters, as install order is.
    public var id: UInt32
    public var name: String
    public var app: String
    /// Exclusive filters compete for ownership by priority first; taps always get a copy.
    public var priority: UInt16
    public var isTap: Bool

    public init(id: UInt32, name: String, app: String, priority: UInt16 = 0, isTap: Bool = false) {
        self.id = id
        self.name = name
        self.app = app
        self.priority = priority
        self.isTap = isTap
    }

    /// Bytes of a filter's encoded rank word: priority (u16) and flags (u16, the tap bit), as in a
    /// `.dpfc` file. The interpreter widens it into an 8-byte delivery key.
    public static let rankSize = 4
}

/// A hash table from masked field values to jump targets, in one of three layouts:
/// *collision-free* (every key in its home slot: one multiply, one shift, one compare),
/// *probing* (linear probing when no collision-free multiplier was found), or *direct* (dense
/// keys: the slot is `key - firstKey`, and the table holds targets only).
public struct DispatchTable: Sendable, Hashable {
    public static let empty = UInt32.max
    /// A target with this bit set is *terminal*: accept filter `target & ~terminalBit` (with the
    /// dispatch's specificity), then continue at the dispatch's own `else` target. Leaves that
    /// only accept cost no instructions.
    public static let terminalBit: UInt32 = 0x8000_0000

    public static func isTerminal(_ target: UInt32) -> Bool { target != empty && target & terminalBit != 0 }

    /// Whether a slot's target is an instruction index: neither free nor terminal (`empty` has the
    /// terminal bit set too).
    public static func isCodeTarget(_ target: UInt32) -> Bool { target & terminalBit == 0 }

    public enum Layout: UInt8, Sendable, Hashable {
        case collisionFree = 0
        case probing = 1
        case direct = 2
    }

    public var layout: Layout
    /// Keys of the hashed layouts, slot by slot (empty for `direct`).
    public var keys: [UInt32]
    /// Slot targets; `empty` marks a free slot.
    public var targets: [UInt32]
    /// The hash multiplier of the hashed layouts, or the first key of `direct`.
    public var parameter: UInt64

    public init(layout: Layout, keys: [UInt32], targets: [UInt32], parameter: UInt64) {
        self.layout = layout
        self.keys = keys
        self.targets = targets
        self.parameter = parameter
    }

    public var isHashed: Bool { layout != .direct }
    public var capacity: Int { targets.count }
    public var multiplier: UInt64 { parameter }
    public var firstKey: UInt32 { UInt32(truncatingIfNeeded: parameter) }
    public var shift: UInt64 { UInt64(64 - capacity.trailingZeroBitCount) }
    /// Encoded bytes: a 16-byte header, then 8 bytes per hashed slot or 4 per direct slot.
    public var byteCount: Int { 16 + capacity * (isHashed ? 8 : 4) }

    @inline(__always)
    public func home(of key: UInt32) -> Int { Int(truncatingIfNeeded: (UInt64(key) &* multiplier) >> shift) }

    /// The key a slot holds (direct slots hold their key implicitly). A hashed table must hold a
    /// key for `slot`, as every built or verified one does.
    public func key(at slot: Int) -> UInt32 {
        isHashed ? keys[slot] : firstKey &+ UInt32(truncatingIfNeeded: slot)
    }

    /// The target for `key`, or `empty`; also `empty` for every key of a malformed hashed table
    /// (one the verifier refuses), so a lookup never traps.
    public func lookup(_ key: UInt32) -> UInt32 {
        switch layout {
        case .direct:
            let slot = Int(key &- firstKey)
            return slot < capacity ? targets[slot] : DispatchTable.empty
        case .collisionFree, .probing:
            guard capacity > 0, capacity & (capacity - 1) == 0, keys.count == capacity else {
                return DispatchTable.empty
            }
            var slot = home(of: key)
            for _ in 0..<capacity {
                if targets[slot] == DispatchTable.empty || keys[slot] == key { return targets[slot] }
                slot = (slot + 1) & (capacity - 1)
            }
            return DispatchTable.empty
        }
    }

    /// The entries, by key.
    public var entries: [(key: UInt32, target: UInt32)] {
        (0..<capacity).filter { targets[$0] != DispatchTable.empty }.map { (key(at: $0), targets[$0]) }.sorted
        {
            $0.key < $1.key
        }
    }

    /// Rewrites the target of every entry that leads into the code with `transform`, in place. Free
    /// slots and terminal entries stay as they are, and so does the layout, which depends only on
    /// the keys.
    public mutating func mapTargets(_ transform: (UInt32) -> UInt32) {
        for slot in targets.indices where DispatchTable.isCodeTarget(targets[slot]) {
            targets[slot] = transform(targets[slot])
        }
    }

    /// Most slots a direct table may have per entry; at four, a direct table is never larger than
    /// the hashed one (8-byte slots, at least two per entry).
    public static let directSlotsPerEntry = 4

    /// Builds a table for `entries` (distinct keys, in any order: the layout depends only on the
    /// keys): direct when the keys are dense (at most `directSlotsPerEntry` slots per entry), else
    /// collision-free if one of eight multipliers puts every key in its home slot at the smallest
    /// power of two of at least 2 and at least two slots per entry, or at twice or four times that
    /// (so fewer than 16 slots per entry), else probing at the smallest of those capacities.
    public static func build(_ entries: [(key: UInt32, target: UInt32)]) -> DispatchTable {
        // Placed in key order, so a probing table's slots do not depend on the order given either.
        let entries = entries.sorted { $0.key < $1.key }
        if let low = entries.map(\.key).min(), let high = entries.map(\.key).max(),
            UInt64(high - low) < UInt64(directSlotsPerEntry * entries.count)
        {
            var targets = [UInt32](repeating: empty, count: Int(high - low) + 1)
            for (key, target) in entries { targets[Int(key - low)] = target }
            return DispatchTable(layout: .direct, keys: [], targets: targets, parameter: UInt64(low))
        }
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
    ) -> DispatchTable? {
        var table = DispatchTable(
            layout: probing ? .probing : .collisionFree, keys: Array(repeating: 0, count: capacity),
            targets: Array(repeating: empty, count: capacity), parameter: multiplier)
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
