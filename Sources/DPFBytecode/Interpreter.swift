/// Runs verified programs. Per packet it keeps its state in locals, allocates nothing and takes no
/// references: the program lives in memory the interpreter owns (copied once, at creation), and the
/// caller passes the packet's bytes and a buffer for tap hits. Immutable, so threads may share it.
public final class Interpreter: @unchecked Sendable {
    public let verified: VerifiedProgram
    private let code: UnsafeMutableBufferPointer<Instruction>
    private let acceptRecords: UnsafeMutableBufferPointer<AcceptRecord>
    private let registerCount: Int
    /// Every table's slots in one buffer each, so a lookup touches no reference-counted storage.
    private let slotKeys: UnsafeMutableBufferPointer<UInt32>
    private let slotTargets: UnsafeMutableBufferPointer<UInt32>
    private let tableInfo: UnsafeMutableBufferPointer<TableInfo>

    struct TableInfo {
        var first: Int
        var mask: Int
        var multiplier: UInt64
        var shift: UInt64
        var collisionFree: Bool
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
        _ = buffer.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
    }

    deinit {
        code.deallocate()
        acceptRecords.deallocate()
        slotKeys.deallocate()
        slotTargets.deallocate()
        tableInfo.deallocate()
    }

    public init(_ verified: VerifiedProgram) {
        self.verified = verified
        code = Interpreter.copy(verified.program.instructions)
        acceptRecords = Interpreter.copy(verified.program.accepts)
        registerCount = verified.program.registerCount
        var keys: [UInt32] = []
        var targets: [UInt32] = []
        var tables: [TableInfo] = []
        for table in verified.program.tables {
            tables.append(
                TableInfo(
                    first: keys.count, mask: table.capacity - 1, multiplier: table.multiplier,
                    shift: table.shift,
                    collisionFree: table.collisionFree))
            keys += table.keys
            targets += table.targets
        }
        slotKeys = Interpreter.copy(keys)
        slotTargets = Interpreter.copy(targets)
        tableInfo = Interpreter.copy(tables)
    }

    /// Marks a base register whose load ran off the packet: every load from it is unreadable.
    @usableFromInline static let unreadableBase = Int.min / 2

    /// The outcome for one packet: the owning accept record, if any, and how many tap hits were
    /// written to the caller's buffer.
    public struct Outcome: Sendable, Equatable {
        public var owner: Int32
        public var tapCount: Int
    }

    /// Runs the program over one packet. Tap accept records that match are written, without
    /// duplicates, to `taps` (which must hold at least `program.accepts.count` entries).
    public func run(_ packet: UnsafeRawBufferPointer, taps: UnsafeMutableBufferPointer<Int32>) -> Outcome {
        let code = UnsafeBufferPointer(self.code)
        let keys = UnsafeBufferPointer(slotKeys)
        let targets = UnsafeBufferPointer(slotTargets)
        let tables = UnsafeBufferPointer(tableInfo)
        let accepts = UnsafeBufferPointer(acceptRecords)
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
            registers[0] = 0
            var pc = 0
            var owner: Int32 = -1
            var tapCount = 0
            let length = packet.count
            while true {
                let instruction = code[pc]
                switch instruction.opcode {
                case .shift:
                    if let loaded = Interpreter.load(instruction, packet, length, registers) {
                        let base = registers[Int(instruction.base)]
                        registers[Int(instruction.register)] =
                            base + Int((loaded & instruction.mask) << UInt32(instruction.aux))
                    } else {
                        registers[Int(instruction.register)] = Interpreter.unreadableBase
                    }
                    pc += 1
                case .test:
                    if let loaded = Interpreter.load(instruction, packet, length, registers),
                        instruction.relation.holds(loaded & instruction.mask, instruction.value)
                    {
                        pc += 1
                    } else {
                        pc = Int(instruction.target)
                    }
                case .testNot:
                    if let loaded = Interpreter.load(instruction, packet, length, registers),
                        instruction.relation.holds(loaded & instruction.mask, instruction.value)
                    {
                        pc = Int(instruction.target)
                    } else {
                        pc += 1
                    }
                case .dispatch:
                    pc = Int(instruction.target)
                    if let loaded = Interpreter.load(instruction, packet, length, registers) {
                        let found = Interpreter.lookup(
                            loaded & instruction.mask, in: tables[Int(instruction.value)], keys, targets)
                        if found & DispatchTable.terminalBit == 0 {
                            pc = Int(found)
                        } else if found != DispatchTable.empty {
                            Interpreter.offer(
                                Int32(bitPattern: found & ~DispatchTable.terminalBit), accepts, &owner, taps,
                                &tapCount)
                        }
                    }
                case .accept:
                    Interpreter.offer(Int32(instruction.value), accepts, &owner, taps, &tapCount)
                    pc += 1
                case .jump:
                    pc = Int(instruction.target)
                case .check:
                    let base = registers[Int(instruction.base)]
                    pc =
                        base >= 0 && base + Int(instruction.value) <= length
                        ? pc + 1 : Int(instruction.target)
                case .halt:
                    return Outcome(owner: owner, tapCount: tapCount)
                }
            }
        }
    }

    /// Offers accept record `index`: a tap is added once to the tap hits, an exclusive filter
    /// replaces the owner if it ranks higher.
    @inline(__always)
    static func offer(
        _ index: Int32, _ accepts: UnsafeBufferPointer<AcceptRecord>, _ owner: inout Int32,
        _ taps: UnsafeMutableBufferPointer<Int32>, _ tapCount: inout Int
    ) {
        let record = accepts[Int(index)]
        if record.isTap {
            if !taps[0..<tapCount].contains(index) {
                taps[tapCount] = index
                tapCount += 1
            }
        } else if owner < 0 || record.beats(accepts[Int(owner)]) {
            owner = index
        }
    }

    /// The target stored for `key` in a table, or `DispatchTable.empty`.
    @inline(__always)
    static func lookup(
        _ key: UInt32, in table: TableInfo, _ keys: UnsafeBufferPointer<UInt32>,
        _ targets: UnsafeBufferPointer<UInt32>
    ) -> UInt32 {
        var slot = Int(truncatingIfNeeded: (UInt64(key) &* table.multiplier) >> table.shift)
        if table.collisionFree {
            return keys[table.first + slot] == key ? targets[table.first + slot] : DispatchTable.empty
        }
        while true {
            let target = targets[table.first + slot]
            if target == DispatchTable.empty || keys[table.first + slot] == key { return target }
            slot = (slot + 1) & table.mask
        }
    }

    /// A big-endian load of the instruction's width at `R[base] + offset`, or `nil` when unreadable.
    @inline(__always)
    static func load(
        _ instruction: Instruction, _ packet: UnsafeRawBufferPointer, _ length: Int,
        _ registers: UnsafeMutableBufferPointer<Int>
    ) -> UInt32? {
        let start = registers[Int(instruction.base)] + Int(instruction.offset)
        let width = Int(instruction.width)
        if !instruction.isBoundsProven {
            guard start >= 0, start + width <= length else { return nil }
        }
        switch width {
        case 1:
            return UInt32(packet.load(fromByteOffset: start, as: UInt8.self))
        case 2:
            return UInt32(UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        default:
            return UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt32.self))
        }
    }

    /// Convenience for tests and tools: runs over a byte array and returns the owner's filter and
    /// the taps' filters (allocates).
    public func run(_ bytes: [UInt8]) -> (owner: UInt32?, taps: [UInt32]) {
        var hits = [Int32](repeating: 0, count: max(1, acceptRecords.count))
        let outcome = bytes.withUnsafeBytes { packet in
            hits.withUnsafeMutableBufferPointer { run(packet, taps: $0) }
        }
        let owner = outcome.owner >= 0 ? acceptRecords[Int(outcome.owner)].filter : nil
        let taps = Set(hits[0..<outcome.tapCount].map { acceptRecords[Int($0)].filter }).sorted()
        return (owner, taps)
    }
}
