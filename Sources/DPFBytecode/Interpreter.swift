/// Runs verified programs. At creation it decodes the program once into steps specialised by
/// load width, bounds-proof and table layout, with every relation turned into one unsigned range
/// compare; per packet it keeps its state in locals, allocates nothing and takes no references
/// (everything lives in memory the interpreter owns). Immutable, so threads may share it.
public final class Interpreter: @unchecked Sendable {
    public let verified: VerifiedProgram
    private let steps: UnsafeMutableBufferPointer<Step>
    /// Instructions before this index are the prologue's shifts, run before the step loop.
    private let entry: Int
    /// The final halt: reaching it ends the step loop.
    private let exit: Int
    private let registerCount: Int
    /// Every hashed table's slots, keys next to targets, in one buffer.
    private let hashedSlots: UnsafeMutableBufferPointer<HashedSlot>
    /// Every direct table's targets in one buffer.
    private let directTargets: UnsafeMutableBufferPointer<UInt32>
    /// Per filter: priority in the high half, `tapBit` for taps.
    private let ranks: UnsafeMutableBufferPointer<UInt32>
    /// Stands in for a tap buffer of no entries (a program without filters writes no taps).
    private let noTaps = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    public var filterCount: Int { ranks.count }

    public init(_ verified: VerifiedProgram) {
        self.verified = verified
        let program = verified.program
        var hashed: [HashedSlot] = []
        var direct: [UInt32] = []
        var tableStarts: [Int] = []
        // Every jump to a halt goes to the final one, where the step loop ends without a dispatch.
        let exit = program.instructions.count - 1
        let halts = Set(program.instructions.indices.filter { program.instructions[$0].opcode == .halt })
        func exiting(_ target: UInt32) -> UInt32 { halts.contains(Int(target)) ? UInt32(exit) : target }
        var tables = program.tables
        for index in tables.indices {
            tables[index].targets = tables[index].targets.map {
                DispatchTable.isTerminal($0) || $0 == DispatchTable.empty ? $0 : exiting($0)
            }
        }
        for table in tables {
            if table.isHashed {
                tableStarts.append(hashed.count)
                hashed += zip(table.keys, table.targets).map { HashedSlot(key: $0, target: $1) }
            } else {
                tableStarts.append(direct.count)
                direct += table.targets
            }
        }
        steps = Interpreter.copy(
            program.instructions.map { instruction in
                var instruction = instruction
                if [.test, .testNot, .dispatch, .jump, .check].contains(instruction.opcode) {
                    instruction.target = exiting(instruction.target)
                }
                return Step(instruction, tables: tables, tableStarts: tableStarts)
            })
        self.exit = exit
        entry = program.instructions.prefix { $0.opcode == .shift }.count
        registerCount = program.registerCount
        hashedSlots = Interpreter.copy(hashed)
        directTargets = Interpreter.copy(direct)
        ranks = Interpreter.copy(
            program.filters.map { UInt32($0.priority) << 16 | ($0.isTap ? Interpreter.tapBit : 0) })
    }

    deinit {
        steps.deallocate()
        hashedSlots.deallocate()
        directTargets.deallocate()
        ranks.deallocate()
        noTaps.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
        _ = buffer.initialize(from: array)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
    }

    static let tapBit: UInt32 = 1

    /// The outcome for one packet: the owning filter (or -1), and how many tap hits were written.
    public struct Outcome: Sendable, Equatable {
        public var owner: Int32
        public var tapCount: Int
    }

    /// Runs the program over one packet. Taps that match are written, without duplicates, to
    /// `taps`, which must hold at least `filterCount` entries.
    public func run(_ packet: UnsafeRawBufferPointer, taps: UnsafeMutableBufferPointer<Int32>) -> Outcome {
        precondition(taps.count >= filterCount, "room for every tap")
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
            registers[0] = 0
            return run(packet, registers: registers, taps: taps.baseAddress ?? noTaps)
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
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
            registers[0] = 0
            // A packet runs only while the worst case (every filter a tap) still fits.
            let lastStart = taps.count - filterCount
            let tapBase = taps.baseAddress ?? noTaps
            var written = 0
            var owner = owners.baseAddress!
            var tapEnd = tapEnds.baseAddress!
            for (index, packet) in packets.enumerated() {
                guard written <= lastStart else { return index }
                let outcome = run(packet, registers: registers, taps: tapBase + written)
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
    private func run(
        _ packet: UnsafeRawBufferPointer, registers: UnsafeMutableBufferPointer<Int>,
        taps: UnsafeMutablePointer<Int32>
    ) -> Outcome {
        let firstStep = UnsafePointer(steps.baseAddress!)
        let exit = self.exit
        // An empty packet may have no address; no load is then readable, so the stand-in address
        // is never read.
        let length = packet.count
        let bytes = packet.baseAddress ?? UnsafeRawPointer(firstStep)
        // Register 0, the packet start, is 0 throughout; shifts only write higher registers.
        var pc = 0
        while pc < entry {
            Interpreter.shift(firstStep + pc, bytes, length, registers)
            pc &+= 1
        }
        var delivery = Delivery(ranks: ranks.baseAddress!, taps: taps)
        while pc != exit {
            // Fields are read through the pointer, where they are needed, rather than copied.
            let step = firstStep + pc
            switch step.kind {
            case .test1: pc = step.test(load(1, false, step, bytes, length, registers), pc)
            case .test2: pc = step.test(load(2, false, step, bytes, length, registers), pc)
            case .test4: pc = step.test(load(4, false, step, bytes, length, registers), pc)
            case .test1Proven: pc = step.test(load(1, true, step, bytes, length, registers), pc)
            case .test2Proven: pc = step.test(load(2, true, step, bytes, length, registers), pc)
            case .test4Proven: pc = step.test(load(4, true, step, bytes, length, registers), pc)
            case .testNot1: pc = step.testNot(load(1, false, step, bytes, length, registers), pc)
            case .testNot2: pc = step.testNot(load(2, false, step, bytes, length, registers), pc)
            case .testNot4: pc = step.testNot(load(4, false, step, bytes, length, registers), pc)
            case .testNot1Proven: pc = step.testNot(load(1, true, step, bytes, length, registers), pc)
            case .testNot2Proven: pc = step.testNot(load(2, true, step, bytes, length, registers), pc)
            case .testNot4Proven: pc = step.testNot(load(4, true, step, bytes, length, registers), pc)
            case .exact1:
                pc = Interpreter.follow(
                    exact(step, load(1, false, step, bytes, length, registers)), step, &delivery)
            case .exact2:
                pc = Interpreter.follow(
                    exact(step, load(2, false, step, bytes, length, registers)), step, &delivery)
            case .exact4:
                pc = Interpreter.follow(
                    exact(step, load(4, false, step, bytes, length, registers)), step, &delivery)
            case .exact1Proven:
                pc = Interpreter.follow(
                    exact(step, load(1, true, step, bytes, length, registers)), step, &delivery)
            case .exact2Proven:
                pc = Interpreter.follow(
                    exact(step, load(2, true, step, bytes, length, registers)), step, &delivery)
            case .exact4Proven:
                pc = Interpreter.follow(
                    exact(step, load(4, true, step, bytes, length, registers)), step, &delivery)
            case .direct1:
                pc = Interpreter.follow(
                    direct(step, load(1, false, step, bytes, length, registers)), step, &delivery)
            case .direct2:
                pc = Interpreter.follow(
                    direct(step, load(2, false, step, bytes, length, registers)), step, &delivery)
            case .direct4:
                pc = Interpreter.follow(
                    direct(step, load(4, false, step, bytes, length, registers)), step, &delivery)
            case .direct1Proven:
                pc = Interpreter.follow(
                    direct(step, load(1, true, step, bytes, length, registers)), step, &delivery)
            case .direct2Proven:
                pc = Interpreter.follow(
                    direct(step, load(2, true, step, bytes, length, registers)), step, &delivery)
            case .direct4Proven:
                pc = Interpreter.follow(
                    direct(step, load(4, true, step, bytes, length, registers)), step, &delivery)
            case .pair1:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(1, false, step, bytes, length, registers)), step, &delivery)
            case .pair2:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(2, false, step, bytes, length, registers)), step, &delivery)
            case .pair4:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(4, false, step, bytes, length, registers)), step, &delivery)
            case .pair1Proven:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(1, true, step, bytes, length, registers)), step, &delivery)
            case .pair2Proven:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(2, true, step, bytes, length, registers)), step, &delivery)
            case .pair4Proven:
                pc = Interpreter.follow(
                    Interpreter.pair(step, load(4, true, step, bytes, length, registers)), step, &delivery)
            case .probing:
                pc = Interpreter.follow(
                    probing(step, load(Int(step.width), false, step, bytes, length, registers)), step,
                    &delivery)
            case .accept:
                delivery.offer(step.operand, specificity: step.specificity)
                pc += 1
            case .jump:
                pc = Int(step.target)
            case .check:
                let base = registers[Int(step.base)]
                pc = base >= 0 && base + Int(step.operand) <= length ? pc + 1 : Int(step.target)
            case .halt:
                pc = exit
            case .shift:
                preconditionFailure("the verifier keeps shifts in the prologue")
            }
        }
        return Outcome(
            owner: delivery.owner == Delivery.nobody ? -1 : delivery.owner, tapCount: delivery.tapCount)
    }

    /// The masked big-endian load of `width` bytes at `R[base] + offset`, or nil when unreadable.
    /// `proven` loads skip the bounds check an earlier `check` made.
    @inline(__always)
    private func load(
        _ width: Int, _ proven: Bool, _ step: StepPointer, _ packet: UnsafeRawPointer, _ length: Int,
        _ registers: UnsafeMutableBufferPointer<Int>
    ) -> UInt32? {
        let start = registers[Int(step.base)] &+ Int(step.offset)
        // An unreadable base is hugely negative, so one unsigned compare covers both bounds.
        if !proven && UInt(bitPattern: start &+ width) > UInt(length) { return nil }
        let raw: UInt32
        switch width {
        case 1: raw = UInt32(packet.load(fromByteOffset: start, as: UInt8.self))
        case 2: raw = UInt32(UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        default: raw = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt32.self))
        }
        return raw & step.mask
    }

    /// Marks a base register whose load ran off the packet: every load from it is unreadable.
    static let unreadableBase = Int.min / 2

    @inline(__always)
    private static func shift(
        _ step: StepPointer, _ packet: UnsafeRawPointer, _ length: Int,
        _ registers: UnsafeMutableBufferPointer<Int>
    ) {
        let base = registers[Int(step.base)]
        let start = base &+ Int(step.offset)
        let width = Int(step.width)
        var value = Interpreter.unreadableBase
        if UInt(bitPattern: start &+ width) <= UInt(length) {
            let raw: UInt32
            switch width {
            case 1: raw = UInt32(packet.load(fromByteOffset: start, as: UInt8.self))
            case 2:
                raw = UInt32(UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
            default: raw = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt32.self))
            }
            value = base + Int((raw & step.mask) &<< step.span)
        }
        registers[Int(step.operand)] = value
    }

    /// The target a collision-free table holds for `key`, or `empty` (also when unreadable).
    @inline(__always)
    private func exact(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        let home = Int(truncatingIfNeeded: (UInt64(key) &* step.parameter) >> step.hashShift)
        let slot = hashedSlots[Int(step.operand) + home]
        return slot.key == key ? slot.target : DispatchTable.empty
    }

    /// The target a direct table holds for `key`, or `empty`.
    @inline(__always)
    private func direct(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        let slot = key &- UInt32(truncatingIfNeeded: step.parameter)
        return slot < step.span ? directTargets[Int(step.operand) + Int(slot)] : DispatchTable.empty
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

    /// The target a probing table holds for `key`, or `empty`.
    private func probing(_ step: StepPointer, _ key: UInt32?) -> UInt32 {
        guard let key else { return DispatchTable.empty }
        var slot = Int(truncatingIfNeeded: (UInt64(key) &* step.parameter) >> step.hashShift)
        while true {
            let entry = hashedSlots[Int(step.operand) + slot]
            if entry.target == DispatchTable.empty || entry.key == key { return entry.target }
            slot = (slot + 1) & Int(step.span)
        }
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

/// The delivery rule while a packet runs: the best exclusive candidate so far (priority, then
/// specificity, then the lower filter number) and the taps hit.
private struct Delivery {
    static let nobody = Int32.max

    let ranks: UnsafeMutablePointer<UInt32>
    let taps: UnsafeMutablePointer<Int32>
    /// `nobody` until a candidate is offered; with `ownerKey` 0 any candidate then beats it.
    var owner: Int32 = Delivery.nobody
    /// Priority in the high half, specificity in the low half.
    var ownerKey: UInt64 = 0
    var tapCount = 0

    init(ranks: UnsafeMutablePointer<UInt32>, taps: UnsafeMutablePointer<Int32>) {
        self.ranks = ranks
        self.taps = taps
    }

    @inline(__always)
    mutating func offer(_ filter: UInt32, specificity: UInt32) {
        let rank = ranks[Int(filter)]
        let candidate = Int32(bitPattern: filter)
        if rank & Interpreter.tapBit != 0 {
            if !UnsafeBufferPointer(start: taps, count: tapCount).contains(candidate) {
                taps[tapCount] = candidate
                tapCount += 1
            }
            return
        }
        let key = UInt64(rank >> 16) << 32 | UInt64(specificity)
        if key > ownerKey || (key == ownerKey && candidate < owner) {
            owner = candidate
            ownerKey = key
        }
    }
}

/// One table slot of a hashed layout, key next to target so a lookup touches one cache line.
private struct HashedSlot {
    var key: UInt32
    var target: UInt32
}

/// An instruction decoded for the interpreter: the opcode specialised by load width, bounds
/// proof and table layout, relations folded into a range, table parameters inlined.
private struct Step {
    enum Kind: UInt8 {
        case shift
        case test1, test2, test4, test1Proven, test2Proven, test4Proven
        case testNot1, testNot2, testNot4, testNot1Proven, testNot2Proven, testNot4Proven
        case exact1, exact2, exact4, exact1Proven, exact2Proven, exact4Proven
        case direct1, direct2, direct4, direct1Proven, direct2Proven, direct4Proven
        case pair1, pair2, pair4, pair1Proven, pair2Proven, pair4Proven
        case probing
        case accept, jump, check, halt
    }

    var kind: Kind
    var base: UInt8
    var width: UInt8
    /// Tests: the range holds when the value lies *outside* [low, low + span].
    var outside: Bool
    var offset: UInt16
    /// Hashed dispatch: 64 minus log2 of the slot count.
    var hashShift: UInt8
    var mask: UInt32
    /// Tests: range start. Dispatch: the table's first slot in its buffer. Pair: the first key.
    /// Accept: the filter. Check: bytes. Shift: destination register.
    var operand: UInt32
    /// Tests: range length minus one. Direct: slot count. Probing: slot mask. Pair: the second
    /// key. Shift: scale.
    var span: UInt32
    var target: UInt32
    var specificity: UInt32
    /// Hashed dispatch: the multiplier. Direct: the first key. Pair: the first key's target in the
    /// low half, the second's in the high half.
    var parameter: UInt64

    init(_ instruction: Instruction, tables: [DispatchTable], tableStarts: [Int]) {
        kind = .halt
        base = instruction.base
        width = instruction.width
        outside = false
        offset = instruction.offset
        hashShift = 0
        mask = instruction.mask
        operand = 0
        span = 0
        target = instruction.target
        specificity = instruction.specificity
        parameter = 0
        let widthIndex = instruction.width == 1 ? 0 : instruction.width == 2 ? 1 : 2
        let proven = instruction.isBoundsProven ? 3 : 0
        switch instruction.opcode {
        case .shift:
            kind = .shift
            operand = UInt32(instruction.register)
            span = UInt32(instruction.aux)
        case .test, .testNot:
            let first: Kind = instruction.opcode == .test ? .test1 : .testNot1
            kind = Kind(rawValue: first.rawValue + UInt8(widthIndex + proven))!
            (operand, span, outside) = Step.range(instruction.relation, instruction.value)
        case .dispatch:
            let table = tables[Int(instruction.value)]
            operand = UInt32(tableStarts[Int(instruction.value)])
            parameter = table.parameter
            let entries = table.entries
            if entries.count <= 2 {
                kind = Kind(rawValue: Kind.pair1.rawValue + UInt8(widthIndex + proven))!
                // An absent second entry repeats the first.
                let first = entries.first ?? (0, DispatchTable.empty)
                let second = entries.count == 2 ? entries[1] : first
                (operand, span) = (first.key, second.key)
                parameter = UInt64(second.target) << 32 | UInt64(first.target)
                return
            }
            switch table.layout {
            case .collisionFree:
                kind = Kind(rawValue: Kind.exact1.rawValue + UInt8(widthIndex + proven))!
                hashShift = UInt8(table.shift)
            case .direct:
                kind = Kind(rawValue: Kind.direct1.rawValue + UInt8(widthIndex + proven))!
                span = UInt32(table.capacity)
            case .probing:
                kind = .probing
                hashShift = UInt8(table.shift)
                span = UInt32(table.capacity - 1)
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
    var hashShift: UInt8 { @inline(__always) get { pointee.hashShift } }
    var mask: UInt32 { @inline(__always) get { pointee.mask } }
    var operand: UInt32 { @inline(__always) get { pointee.operand } }
    var span: UInt32 { @inline(__always) get { pointee.span } }
    var target: UInt32 { @inline(__always) get { pointee.target } }
    var specificity: UInt32 { @inline(__always) get { pointee.specificity } }
    var parameter: UInt64 { @inline(__always) get { pointee.parameter } }

    @inline(__always)
    func holds(_ value: UInt32) -> Bool { (value &- operand <= span) != outside }

    /// Continue when the loaded value satisfies the relation; jump when not or unreadable.
    @inline(__always)
    func test(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return pc + 1 }
        return Int(target)
    }

    /// Jump when the loaded value satisfies the relation; continue when not or unreadable.
    @inline(__always)
    func testNot(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return Int(target) }
        return pc + 1
    }
}
