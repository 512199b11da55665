import DPFWire

/// Runs verified programs. At creation it decodes the program once into 32-byte steps specialised
/// by load width, load mode (base register or fixed offset, checked or proven) and table layout,
/// with every relation turned into one unsigned range compare and every jump target turned into the
/// byte offset of its step. Per packet it keeps its state in locals, allocates nothing and takes no
/// references (everything lives in memory the interpreter owns). Immutable, so threads may share it.
public final class Interpreter: @unchecked Sendable {
    public let verified: VerifiedProgram
    private let code: Code
    private let registerCount: Int

    public var filterCount: Int { code.filterCount }

    public init(_ verified: VerifiedProgram) {
        self.verified = verified
        code = Code(verified.program)
        registerCount = verified.program.registerCount
    }

    deinit { code.deallocate() }

    /// The outcome for one packet: the owning filter (or -1), and how many tap hits were written.
    public struct Outcome: Sendable, Equatable {
        public var owner: Int32
        public var tapCount: Int
    }

    /// Runs the program over one packet. Taps that match are written, without duplicates, to
    /// `taps`, which must hold at least `filterCount` entries.
    public func run(_ packet: UnsafeRawBufferPointer, taps: UnsafeMutableBufferPointer<Int32>) -> Outcome {
        precondition(taps.count >= filterCount, "room for every tap")
        let code = self.code
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
            registers[0] = 0
            return Interpreter.run(code, packet, registers.baseAddress!, taps.baseAddress ?? code.noTaps)
        }
    }

    /// Runs the program over a batch of packets, writing each packet's owner (or -1) to `owners`
    /// and its taps to `taps`: packet `i`'s taps are `taps[tapEnds[i - 1]..<tapEnds[i]]` (from 0 for
    /// the first). Stops early when `taps` has less room left than `filterCount`; returns how many
    /// packets it ran, so the caller can continue from there.
    public func run(
        batch packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, owners: UnsafeMutableBufferPointer<Int32>,
        tapEnds: UnsafeMutableBufferPointer<Int32>, taps: UnsafeMutableBufferPointer<Int32>
    ) -> Int {
        precondition(owners.count >= packets.count && tapEnds.count >= packets.count, "one result per packet")
        guard !packets.isEmpty, taps.count >= filterCount else { return 0 }
        // Read once: the packet loop then reloads nothing from the object.
        let code = self.code
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
            registers[0] = 0
            let registers = registers.baseAddress!
            // A packet runs only while the worst case (every filter a tap) still fits.
            let lastStart = taps.count - code.filterCount
            let tapBase = taps.baseAddress ?? code.noTaps
            var written = 0
            var owner = owners.baseAddress!
            var tapEnd = tapEnds.baseAddress!
            for (index, packet) in packets.enumerated() {
                guard written <= lastStart else { return index }
                let outcome = Interpreter.run(code, packet, registers, tapBase + written)
                owner.pointee = outcome.owner
                owner += 1
                written &+= outcome.tapCount
                tapEnd.pointee = Int32(truncatingIfNeeded: written)
                tapEnd += 1
            }
            return packets.count
        }
    }

    @inline(__always)
    private static func run(
        _ code: Code, _ packet: UnsafeRawBufferPointer, _ registers: UnsafeMutablePointer<Int>,
        _ taps: UnsafeMutablePointer<Int32>
    ) -> Outcome {
        let steps = code.steps
        // An empty packet may have no address; no load is then readable, so the stand-in address
        // is never read.
        let length = packet.count
        let bytes = packet.baseAddress ?? steps
        // Register 0, the packet start, is 0 throughout; shifts only write higher registers.
        var pc = 0
        var delivery = Delivery(ranks: code.ranks, taps: taps)
        steps: while true {
            // Fields are read through the pointer, where they are needed, rather than copied.
            let step = (steps + pc).assumingMemoryBound(to: Step.self)
            // The arms below read the step's key with these; inlined, they add no calls.
            @inline(__always) func key(_ width: Int, _ mode: LoadMode) -> UInt32? {
                load(width, mode, step, bytes, length, registers)
            }
            @inline(__always) func dispatched(_ found: UInt32) -> Int { follow(found, step, &delivery) }
            switch step.kind {
            case .shift1: pc = shift(1, step, bytes, length, registers, pc)
            case .shift2: pc = shift(2, step, bytes, length, registers, pc)
            case .shift4: pc = shift(4, step, bytes, length, registers, pc)
            case .test1: pc = step.test(key(1, .checked), pc)
            case .test2: pc = step.test(key(2, .checked), pc)
            case .test4: pc = step.test(key(4, .checked), pc)
            case .test1Proven: pc = step.test(key(1, .proven), pc)
            case .test2Proven: pc = step.test(key(2, .proven), pc)
            case .test4Proven: pc = step.test(key(4, .proven), pc)
            case .test1Absolute: pc = step.test(key(1, .absolute), pc)
            case .test2Absolute: pc = step.test(key(2, .absolute), pc)
            case .test4Absolute: pc = step.test(key(4, .absolute), pc)
            case .test1AbsoluteProven: pc = step.test(key(1, .absoluteProven), pc)
            case .test2AbsoluteProven: pc = step.test(key(2, .absoluteProven), pc)
            case .test4AbsoluteProven: pc = step.test(key(4, .absoluteProven), pc)
            case .testNot1: pc = step.testNot(key(1, .checked), pc)
            case .testNot2: pc = step.testNot(key(2, .checked), pc)
            case .testNot4: pc = step.testNot(key(4, .checked), pc)
            case .testNot1Proven: pc = step.testNot(key(1, .proven), pc)
            case .testNot2Proven: pc = step.testNot(key(2, .proven), pc)
            case .testNot4Proven: pc = step.testNot(key(4, .proven), pc)
            case .testNot1Absolute: pc = step.testNot(key(1, .absolute), pc)
            case .testNot2Absolute: pc = step.testNot(key(2, .absolute), pc)
            case .testNot4Absolute: pc = step.testNot(key(4, .absolute), pc)
            case .testNot1AbsoluteProven: pc = step.testNot(key(1, .absoluteProven), pc)
            case .testNot2AbsoluteProven: pc = step.testNot(key(2, .absoluteProven), pc)
            case .testNot4AbsoluteProven: pc = step.testNot(key(4, .absoluteProven), pc)
            case .exact1: pc = dispatched(code.exact(step, key(1, .checked)))
            case .exact2: pc = dispatched(code.exact(step, key(2, .checked)))
            case .exact4: pc = dispatched(code.exact(step, key(4, .checked)))
            case .exact1Proven: pc = dispatched(code.exact(step, key(1, .proven)))
            case .exact2Proven: pc = dispatched(code.exact(step, key(2, .proven)))
            case .exact4Proven: pc = dispatched(code.exact(step, key(4, .proven)))
            case .exact1Absolute: pc = dispatched(code.exact(step, key(1, .absolute)))
            case .exact2Absolute: pc = dispatched(code.exact(step, key(2, .absolute)))
            case .exact4Absolute: pc = dispatched(code.exact(step, key(4, .absolute)))
            case .exact1AbsoluteProven: pc = dispatched(code.exact(step, key(1, .absoluteProven)))
            case .exact2AbsoluteProven: pc = dispatched(code.exact(step, key(2, .absoluteProven)))
            case .exact4AbsoluteProven: pc = dispatched(code.exact(step, key(4, .absoluteProven)))
            case .direct1: pc = dispatched(code.direct(step, key(1, .checked)))
            case .direct2: pc = dispatched(code.direct(step, key(2, .checked)))
            case .direct4: pc = dispatched(code.direct(step, key(4, .checked)))
            case .direct1Proven: pc = dispatched(code.direct(step, key(1, .proven)))
            case .direct2Proven: pc = dispatched(code.direct(step, key(2, .proven)))
            case .direct4Proven: pc = dispatched(code.direct(step, key(4, .proven)))
            case .direct1Absolute: pc = dispatched(code.direct(step, key(1, .absolute)))
            case .direct2Absolute: pc = dispatched(code.direct(step, key(2, .absolute)))
            case .direct4Absolute: pc = dispatched(code.direct(step, key(4, .absolute)))
            case .direct1AbsoluteProven: pc = dispatched(code.direct(step, key(1, .absoluteProven)))
            case .direct2AbsoluteProven: pc = dispatched(code.direct(step, key(2, .absoluteProven)))
            case .direct4AbsoluteProven: pc = dispatched(code.direct(step, key(4, .absoluteProven)))
            case .pair1: pc = dispatched(pair(step, key(1, .checked)))
            case .pair2: pc = dispatched(pair(step, key(2, .checked)))
            case .pair4: pc = dispatched(pair(step, key(4, .checked)))
            case .pair1Proven: pc = dispatched(pair(step, key(1, .proven)))
            case .pair2Proven: pc = dispatched(pair(step, key(2, .proven)))
            case .pair4Proven: pc = dispatched(pair(step, key(4, .proven)))
            case .pair1Absolute: pc = dispatched(pair(step, key(1, .absolute)))
            case .pair2Absolute: pc = dispatched(pair(step, key(2, .absolute)))
            case .pair4Absolute: pc = dispatched(pair(step, key(4, .absolute)))
            case .pair1AbsoluteProven: pc = dispatched(pair(step, key(1, .absoluteProven)))
            case .pair2AbsoluteProven: pc = dispatched(pair(step, key(2, .absoluteProven)))
            case .pair4AbsoluteProven: pc = dispatched(pair(step, key(4, .absoluteProven)))
            case .probing: pc = dispatched(code.probing(step, key(Int(step.width), .checked)))
            case .accept:
                delivery.offer(step.operand, specificity: step.specificity)
                pc &+= Step.size
            case .jump:
                pc = Int(step.target)
            case .check:
                let base = registers[Int(step.base)]
                pc = base >= 0 && base + Int(step.operand) <= length ? pc &+ Step.size : Int(step.target)
            case .halt:
                break steps
            }
        }
        return Outcome(owner: delivery.owner, tapCount: delivery.tapCount)
    }

    /// How a load finds its bytes: through its base register or at its offset alone (register 0,
    /// the packet start, is always 0), and checked against the packet length or proven inside it
    /// by an earlier `check`.
    private enum LoadMode {
        case checked, proven, absolute, absoluteProven
    }

    /// The masked big-endian load of `width` bytes at `R[base] + offset`, or nil when unreadable.
    @inline(__always)
    private static func load(
        _ width: Int, _ mode: LoadMode, _ step: StepPointer, _ packet: UnsafeRawPointer, _ length: Int,
        _ registers: UnsafeMutablePointer<Int>
    ) -> UInt32? {
        let absolute = mode == .absolute || mode == .absoluteProven
        let start = absolute ? Int(step.offset) : registers[Int(step.base)] &+ Int(step.offset)
        // An unreadable base is hugely negative, so one unsigned compare covers both bounds.
        if (mode == .checked || mode == .absolute) && UInt(bitPattern: start &+ width) > UInt(length) {
            return nil
        }
        return fetch(width, packet, start) & step.mask
    }

    @inline(__always)
    private static func fetch(_ width: Int, _ packet: UnsafeRawPointer, _ start: Int) -> UInt32 {
        PacketLoad.bigEndian(width, packet, start)
    }

    /// Marks a base register whose load ran off the packet: every load from it is unreadable.
    static let unreadableBase = Int.min / 2

    /// `R[dst] = R[base] + ((load & mask) << scale)`, or `unreadableBase` when the load is.
    @inline(__always)
    private static func shift(
        _ width: Int, _ step: StepPointer, _ packet: UnsafeRawPointer, _ length: Int,
        _ registers: UnsafeMutablePointer<Int>, _ pc: Int
    ) -> Int {
        let base = registers[Int(step.base)]
        let start = base &+ Int(step.offset)
        var value = unreadableBase
        if UInt(bitPattern: start &+ width) <= UInt(length) {
            value = base &+ Int((fetch(width, packet, start) & step.mask) &<< step.span)
        }
        registers[Int(step.operand)] = value
        return pc &+ Step.size
    }

    /// A table of one or two entries, compared in place: the branch predictor then sees the
    /// outcome, where a table load would make the next step wait for memory.
    @inline(__always)
    private static func pair(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        if key == step.operand { return UInt32(truncatingIfNeeded: step.parameter) }
        if key == step.span { return UInt32(truncatingIfNeeded: step.parameter >> 32) }
        return DispatchTable.empty
    }

    /// Where a dispatch goes for a table entry: into the code, or (terminal entries and misses) to
    /// the dispatch's `else`, after accepting a terminal entry's filter.
    @inline(__always)
    private static func follow(_ found: UInt32, _ step: StepPointer, _ delivery: inout Delivery) -> Int {
        if found < DispatchTable.terminalBit { return Int(found) }
        if found != DispatchTable.empty {
            delivery.offer(found & ~DispatchTable.terminalBit, specificity: step.specificity)
        }
        return Int(step.target)
    }

    /// Convenience for tests and tools: runs over a byte array and returns the owner's filter and
    /// the taps' filters, sorted (allocates).
    public func run(_ bytes: [UInt8]) -> (owner: UInt32?, taps: [UInt32]) {
        var hits = [Int32](repeating: 0, count: max(1, filterCount))
        let outcome = bytes.withUnsafeBytes { packet in
            hits.withUnsafeMutableBufferPointer { run(packet, taps: $0) }
        }
        let owner = outcome.owner >= 0 ? UInt32(outcome.owner) : nil
        return (owner, hits[0..<outcome.tapCount].map { UInt32($0) }.sorted())
    }
}

/// The decoded program: steps, table slots and filter ranks in memory the interpreter owns, as
/// plain pointers, so a run copies it into locals once and the packet loop reloads nothing.
private struct Code {
    /// Step `i` starts at byte `i * Step.size`; decoded jump targets are such byte offsets.
    let steps: UnsafeRawPointer
    /// Every hashed table's slots, keys next to targets, in one buffer.
    let hashedSlots: UnsafeMutablePointer<HashedSlot>
    /// Every direct table's targets in one buffer.
    let directTargets: UnsafeMutablePointer<UInt32>
    /// Per filter, its delivery key without specificity (see `Delivery`); 0 for taps.
    let ranks: UnsafeMutablePointer<UInt64>
    let filterCount: Int
    /// Stands in for a tap buffer of no entries (a program without filters writes no taps).
    let noTaps: UnsafeMutablePointer<Int32>

    init(_ program: Program) {
        precondition(Step.size == MemoryLayout<Step>.stride, "steps are \(Step.size) bytes")
        // Decoding reads values the program supplies; the verifier bounds every one this arithmetic
        // uses, for every instruction and every table (also tables no dispatch reads), so none of
        // it can overflow: targets stay below `maximumInstructions` (2^20, so byte offsets below
        // 2^25), slots of all tables together below `maximumTableSlots` (2^24), filter numbers
        // below `maximumFilters` (2^24), widths in 1, 2 and 4, table numbers in range.
        // Jump targets become byte offsets of steps.
        var program = program
        program.retarget { $0 * UInt32(Step.size) }
        let tables = program.tables
        var hashed: [HashedSlot] = []
        var direct: [UInt32] = []
        var tableStarts: [Int] = []
        for table in tables {
            if table.isHashed {
                tableStarts.append(hashed.count)
                hashed += zip(table.keys, table.targets).map { HashedSlot(key: $0, target: $1) }
            } else {
                tableStarts.append(direct.count)
                direct += table.targets
            }
        }
        let steps = Code.copy(
            program.instructions.map { Step($0, tables: tables, tableStarts: tableStarts) })
        self.steps = UnsafeRawPointer(steps)
        hashedSlots = Code.copy(hashed)
        directTargets = Code.copy(direct)
        ranks = Code.copy(program.filters.enumerated().map { Delivery.rank(filter: $0, $1) })
        filterCount = program.filters.count
        noTaps = .allocate(capacity: 1)
    }

    func deallocate() {
        UnsafeMutableRawPointer(mutating: steps).deallocate()
        hashedSlots.deallocate()
        directTargets.deallocate()
        ranks.deallocate()
        noTaps.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
        _ = UnsafeMutableBufferPointer(start: buffer, count: array.count).initialize(from: array)
        return buffer
    }

    /// The target a collision-free table holds for `key`, or `empty` (also when unreadable).
    @inline(__always)
    func exact(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        let home = Int(truncatingIfNeeded: (UInt64(key) &* step.parameter) &>> step.span)
        let slot = hashedSlots[Int(step.operand) &+ home]
        return slot.key == key ? slot.target : DispatchTable.empty
    }

    /// The target a direct table holds for `key`, or `empty`.
    @inline(__always)
    func direct(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        let slot = key &- UInt32(truncatingIfNeeded: step.parameter)
        return slot < step.span ? directTargets[Int(step.operand) &+ Int(slot)] : DispatchTable.empty
    }

    /// The target a probing table holds for `key`, or `empty`.
    func probing(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        let slotMask = (1 &<< (64 &- Int(step.span))) &- 1
        var slot = Int(truncatingIfNeeded: (UInt64(key) &* step.parameter) &>> step.span)
        while true {
            let entry = hashedSlots[Int(step.operand) &+ slot]
            if entry.target == DispatchTable.empty || entry.key == key { return entry.target }
            slot = (slot &+ 1) & slotMask
        }
    }
}

/// The delivery rule while a packet runs: the best exclusive candidate so far and the taps hit.
/// A candidate's key is its `DeliveryKey` with the filter number as the install order (numbers
/// follow install order), so keeping the best is one `max` and the winner's number is the key's
/// order. 0 means no candidate; no filter's key is 0, since numbers stay below `maximumFilters`.
private struct Delivery {
    let ranks: UnsafeMutablePointer<UInt64>
    let taps: UnsafeMutablePointer<Int32>
    var best: UInt64 = 0
    var tapCount = 0

    init(ranks: UnsafeMutablePointer<UInt64>, taps: UnsafeMutablePointer<Int32>) {
        self.ranks = ranks
        self.taps = taps
    }

    /// A filter's key without its specificity, or 0 for a tap.
    static func rank(filter number: Int, _ filter: ProgramFilter) -> UInt64 {
        filter.isTap ? 0 : DeliveryKey.rank(priority: filter.priority, order: UInt32(number))
    }

    var owner: Int32 { best == 0 ? -1 : Int32(bitPattern: DeliveryKey(rawValue: best).order) }

    @inline(__always)
    mutating func offer(_ filter: UInt32, specificity: UInt16) {
        let rank = ranks[Int(filter)]
        if rank == 0 {
            tap(Int32(bitPattern: filter))
            return
        }
        best = max(best, rank | UInt64(specificity) << DeliveryKey.specificityShift)
    }

    private mutating func tap(_ filter: Int32) {
        if !UnsafeBufferPointer(start: taps, count: tapCount).contains(filter) {
            taps[tapCount] = filter
            tapCount += 1
        }
    }
}

/// One table slot of a hashed layout, key next to target so a lookup touches one cache line.
private struct HashedSlot {
    var key: UInt32
    var target: UInt32
}

/// An instruction decoded for the interpreter: the opcode specialised by load width, bounds
/// proof and table layout, relations folded into a range, table parameters inlined, targets as
/// byte offsets. 32 bytes, so two steps share a cache line.
private struct Step {
    static let size = 32

    enum Kind: UInt8 {
        case shift1, shift2, shift4
        case test1, test2, test4
        case test1Proven, test2Proven, test4Proven
        case test1Absolute, test2Absolute, test4Absolute
        case test1AbsoluteProven, test2AbsoluteProven, test4AbsoluteProven
        case testNot1, testNot2, testNot4
        case testNot1Proven, testNot2Proven, testNot4Proven
        case testNot1Absolute, testNot2Absolute, testNot4Absolute
        case testNot1AbsoluteProven, testNot2AbsoluteProven, testNot4AbsoluteProven
        case exact1, exact2, exact4
        case exact1Proven, exact2Proven, exact4Proven
        case exact1Absolute, exact2Absolute, exact4Absolute
        case exact1AbsoluteProven, exact2AbsoluteProven, exact4AbsoluteProven
        case direct1, direct2, direct4
        case direct1Proven, direct2Proven, direct4Proven
        case direct1Absolute, direct2Absolute, direct4Absolute
        case direct1AbsoluteProven, direct2AbsoluteProven, direct4AbsoluteProven
        case pair1, pair2, pair4
        case pair1Proven, pair2Proven, pair4Proven
        case pair1Absolute, pair2Absolute, pair4Absolute
        case pair1AbsoluteProven, pair2AbsoluteProven, pair4AbsoluteProven
        case probing
        case accept, jump, check, halt
    }

    var kind: Kind
    var base: UInt8
    var width: UInt8
    /// Tests: the range holds when the value lies *outside* [low, low + span].
    var outside: Bool
    var offset: UInt16
    /// Accepts and dispatches with terminal entries: the path's specificity (the verifier keeps it
    /// within 16 bits).
    var specificity: UInt16
    var mask: UInt32
    /// Tests: range start. Dispatch: the table's first slot in its buffer. Pair: the first key.
    /// Accept: the filter. Check: bytes. Shift: destination register.
    var operand: UInt32
    /// Tests: range length minus one. Direct: slot count. Hashed: 64 minus log2 of the slot count.
    /// Pair: the second key. Shift: scale.
    var span: UInt32
    var target: UInt32
    /// Hashed dispatch: the multiplier. Direct: the first key. Pair: the first key's target in the
    /// low half, the second's in the high half.
    var parameter: UInt64

    init(_ instruction: Instruction, tables: [DispatchTable], tableStarts: [Int]) {
        kind = .halt
        base = instruction.base
        width = instruction.width
        outside = false
        offset = instruction.offset
        specificity = UInt16(truncatingIfNeeded: instruction.specificity)
        mask = instruction.mask
        operand = 0
        span = 0
        target = instruction.target
        parameter = 0
        let widthIndex: UInt8 = instruction.width == 1 ? 0 : instruction.width == 2 ? 1 : 2
        // Width, then the load mode in the order of `LoadMode`.
        let mode: UInt8 = (instruction.isBoundsProven ? 1 : 0) + (instruction.base == 0 ? 2 : 0)
        let variant = widthIndex + 3 * mode
        switch instruction.opcode {
        case .shift:
            kind = Kind(rawValue: Kind.shift1.rawValue + widthIndex)!
            operand = UInt32(instruction.register)
            span = UInt32(instruction.aux)
        case .test, .testNot:
            let first: Kind = instruction.opcode == .test ? .test1 : .testNot1
            kind = Kind(rawValue: first.rawValue + variant)!
            (operand, span, outside) = Step.range(instruction.relation, instruction.value)
        case .dispatch:
            let table = tables[Int(instruction.value)]
            operand = UInt32(tableStarts[Int(instruction.value)])
            parameter = table.parameter
            let entries = table.entries
            if entries.count <= 2 {
                kind = Kind(rawValue: Kind.pair1.rawValue + variant)!
                // An absent second entry repeats the first.
                let first = entries.first ?? (0, DispatchTable.empty)
                let second = entries.count == 2 ? entries[1] : first
                (operand, span) = (first.key, second.key)
                parameter = UInt64(second.target) << 32 | UInt64(first.target)
                return
            }
            switch table.layout {
            case .collisionFree:
                kind = Kind(rawValue: Kind.exact1.rawValue + variant)!
                span = UInt32(table.shift)
            case .direct:
                kind = Kind(rawValue: Kind.direct1.rawValue + variant)!
                span = UInt32(table.capacity)
            case .probing:
                kind = .probing
                span = UInt32(table.shift)
            }
        case .accept:
            kind = .accept
            operand = instruction.value
        case .jump:
            kind = .jump
        case .check:
            kind = .check
            operand = instruction.value
        case .halt:
            kind = .halt
        }
    }

    /// A relation against `value` as the unsigned range [low, low + span], or its complement.
    static func range(_ relation: Instruction.Relation, _ value: UInt32) -> (UInt32, UInt32, Bool) {
        let never: (UInt32, UInt32, Bool) = (0, .max, true)
        switch relation {
        case .equal: return (value, 0, false)
        case .notEqual: return (value, 0, true)
        case .less: return value == 0 ? never : (0, value - 1, false)
        case .lessOrEqual: return (0, value, false)
        case .greater: return value == .max ? never : (value + 1, .max - value - 1, false)
        case .greaterOrEqual: return (value, .max - value, false)
        }
    }
}

private typealias StepPointer = UnsafePointer<Step>

/// Field access straight from the decoded program, so a step is never copied out whole.
extension UnsafePointer where Pointee == Step {
    var kind: Step.Kind { @inline(__always) get { pointee.kind } }
    var base: UInt8 { @inline(__always) get { pointee.base } }
    var width: UInt8 { @inline(__always) get { pointee.width } }
    var outside: Bool { @inline(__always) get { pointee.outside } }
    var offset: UInt16 { @inline(__always) get { pointee.offset } }
    var specificity: UInt16 { @inline(__always) get { pointee.specificity } }
    var mask: UInt32 { @inline(__always) get { pointee.mask } }
    var operand: UInt32 { @inline(__always) get { pointee.operand } }
    var span: UInt32 { @inline(__always) get { pointee.span } }
    var target: UInt32 { @inline(__always) get { pointee.target } }
    var parameter: UInt64 { @inline(__always) get { pointee.parameter } }

    @inline(__always)
    func holds(_ value: UInt32) -> Bool { (value &- operand <= span) != outside }

    /// Continue when the loaded value satisfies the relation; jump when not or unreadable.
    @inline(__always)
    func test(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return pc &+ Step.size }
        return Int(target)
    }

    /// Jump when the loaded value satisfies the relation; continue when not or unreadable.
    @inline(__always)
    func testNot(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return Int(target) }
        return pc &+ Step.size
    }
}
