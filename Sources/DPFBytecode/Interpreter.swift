import DPFWire

/// Runs verified programs from their `DecodedProgram`: 32-byte steps specialised by load width,
/// load mode (base register or fixed offset, checked or proven) and table layout, with every
/// relation turned into one unsigned range compare and every jump target turned into the byte
/// offset of its step. Per packet it keeps its state in locals, allocates nothing and takes no
/// references (everything lives in memory the decoded program owns, which the interpreter keeps
/// alive). Immutable, so threads may share it.
public final class Interpreter: @unchecked Sendable {
    public let decoded: DecodedProgram
    public var verified: VerifiedProgram { decoded.verified }
    private let code: Code
    private let registerCount: Int

    public var filterCount: Int { code.filterCount }

    public init(_ decoded: DecodedProgram) {
        self.decoded = decoded
        code = Code(decoded)
        registerCount = decoded.registerCount
    }

    /// Decodes `verified` and runs it.
    public convenience init(_ verified: VerifiedProgram) {
        self.init(DecodedProgram(verified))
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
        var rule = Delivery(ranks: code.ranks, taps: taps)
        steps: while true {
            // Fields are read through the pointer, where they are needed, rather than copied.
            let step = (steps + pc).assumingMemoryBound(to: DecodedStep.self)
            // The arms below read the step's key with this; inlined, it adds no calls. (Nothing
            // captures `rule`: a local function that did cost a dynamic exclusivity check
            // per packet.)
            @inline(__always) func key(_ width: Int, _ mode: LoadMode) -> UInt32? {
                load(width, mode, step, bytes, length, registers)
            }
            // One arm per kind, generated with the kinds from the table in
            // Tests/DPFBytecodeTests/StepKindTable.swift.
            switch step.kind {
            // BEGIN GENERATED dispatch
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
            case .exact1: pc = rule.follow(code.exact(step, key(1, .checked)), step)
            case .exact2: pc = rule.follow(code.exact(step, key(2, .checked)), step)
            case .exact4: pc = rule.follow(code.exact(step, key(4, .checked)), step)
            case .exact1Proven: pc = rule.follow(code.exact(step, key(1, .proven)), step)
            case .exact2Proven: pc = rule.follow(code.exact(step, key(2, .proven)), step)
            case .exact4Proven: pc = rule.follow(code.exact(step, key(4, .proven)), step)
            case .exact1Absolute: pc = rule.follow(code.exact(step, key(1, .absolute)), step)
            case .exact2Absolute: pc = rule.follow(code.exact(step, key(2, .absolute)), step)
            case .exact4Absolute: pc = rule.follow(code.exact(step, key(4, .absolute)), step)
            case .exact1AbsoluteProven: pc = rule.follow(code.exact(step, key(1, .absoluteProven)), step)
            case .exact2AbsoluteProven: pc = rule.follow(code.exact(step, key(2, .absoluteProven)), step)
            case .exact4AbsoluteProven: pc = rule.follow(code.exact(step, key(4, .absoluteProven)), step)
            case .direct1: pc = rule.follow(code.direct(step, key(1, .checked)), step)
            case .direct2: pc = rule.follow(code.direct(step, key(2, .checked)), step)
            case .direct4: pc = rule.follow(code.direct(step, key(4, .checked)), step)
            case .direct1Proven: pc = rule.follow(code.direct(step, key(1, .proven)), step)
            case .direct2Proven: pc = rule.follow(code.direct(step, key(2, .proven)), step)
            case .direct4Proven: pc = rule.follow(code.direct(step, key(4, .proven)), step)
            case .direct1Absolute: pc = rule.follow(code.direct(step, key(1, .absolute)), step)
            case .direct2Absolute: pc = rule.follow(code.direct(step, key(2, .absolute)), step)
            case .direct4Absolute: pc = rule.follow(code.direct(step, key(4, .absolute)), step)
            case .direct1AbsoluteProven: pc = rule.follow(code.direct(step, key(1, .absoluteProven)), step)
            case .direct2AbsoluteProven: pc = rule.follow(code.direct(step, key(2, .absoluteProven)), step)
            case .direct4AbsoluteProven: pc = rule.follow(code.direct(step, key(4, .absoluteProven)), step)
            case .pair1: pc = rule.follow(pair(step, key(1, .checked)), step)
            case .pair2: pc = rule.follow(pair(step, key(2, .checked)), step)
            case .pair4: pc = rule.follow(pair(step, key(4, .checked)), step)
            case .pair1Proven: pc = rule.follow(pair(step, key(1, .proven)), step)
            case .pair2Proven: pc = rule.follow(pair(step, key(2, .proven)), step)
            case .pair4Proven: pc = rule.follow(pair(step, key(4, .proven)), step)
            case .pair1Absolute: pc = rule.follow(pair(step, key(1, .absolute)), step)
            case .pair2Absolute: pc = rule.follow(pair(step, key(2, .absolute)), step)
            case .pair4Absolute: pc = rule.follow(pair(step, key(4, .absolute)), step)
            case .pair1AbsoluteProven: pc = rule.follow(pair(step, key(1, .absoluteProven)), step)
            case .pair2AbsoluteProven: pc = rule.follow(pair(step, key(2, .absoluteProven)), step)
            case .pair4AbsoluteProven: pc = rule.follow(pair(step, key(4, .absoluteProven)), step)
            case .probing: pc = rule.follow(code.probing(step, key(Int(step.width), .checked)), step)
            case .accept:
                rule.offer(step.operand, specificity: step.specificity)
                pc &+= DecodedStep.size
            case .jump: pc = Int(step.target)
            case .check: pc = check(step, registers, length, pc)
            case .halt: break steps
            // END GENERATED dispatch
            }
        }
        return Outcome(owner: rule.owner, tapCount: rule.tapCount)
    }

    /// How a load finds its bytes (see `DecodedStep.LoadMode`).
    private typealias LoadMode = DecodedStep.LoadMode

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

    /// Continue when `R[base] + operand` bytes were captured (and `R[base]` is readable);
    /// otherwise jump.
    @inline(__always)
    private static func check(
        _ step: StepPointer, _ registers: UnsafeMutablePointer<Int>, _ length: Int, _ pc: Int
    ) -> Int {
        let base = registers[Int(step.base)]
        return base >= 0 && base + Int(step.operand) <= length ? pc &+ DecodedStep.size : Int(step.target)
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
        return pc &+ DecodedStep.size
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

/// The decoded program's buffers as plain pointers, so a run copies them into locals once and the
/// packet loop reloads nothing. The `DecodedProgram` owns them; the interpreter keeps it alive.
private struct Code {
    /// Step `i` starts at byte `i * DecodedStep.size`; decoded jump targets are such byte offsets.
    let steps: UnsafeRawPointer
    /// Every hashed table's slots, keys next to targets, in one buffer.
    let hashedSlots: UnsafeMutablePointer<DecodedProgram.HashedSlot>
    /// Every direct table's targets in one buffer.
    let directTargets: UnsafeMutablePointer<UInt32>
    /// Per filter, its `DeliveryRank`; 0 for taps.
    let ranks: UnsafeMutablePointer<UInt64>
    let filterCount: Int
    /// Stands in for a tap buffer of no entries (a program without filters writes no taps).
    let noTaps: UnsafeMutablePointer<Int32>

    init(_ decoded: DecodedProgram) {
        steps = UnsafeRawPointer(decoded.stepStart)
        hashedSlots = decoded.hashedStart
        directTargets = decoded.directStart
        ranks = decoded.rankStart
        filterCount = decoded.filterCount
        noTaps = .allocate(capacity: 1)
    }

    func deallocate() {
        noTaps.deallocate()
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

/// The delivery rule while a packet runs (see `DeliveryRank`): the best exclusive candidate so far
/// and the taps hit.
private struct Delivery {
    let ranks: UnsafeMutablePointer<UInt64>
    let taps: UnsafeMutablePointer<Int32>
    var best = DeliveryRank.none
    var tapCount = 0

    init(ranks: UnsafeMutablePointer<UInt64>, taps: UnsafeMutablePointer<Int32>) {
        self.ranks = ranks
        self.taps = taps
    }

    var owner: Int32 { DeliveryRank.owner(best) }

    /// Where a dispatch goes for a table entry: into the code, or (terminal entries and misses) to
    /// the dispatch's `else`, after accepting a terminal entry's filter.
    @inline(__always)
    mutating func follow(_ found: UInt32, _ step: StepPointer) -> Int {
        if found < DispatchTable.terminalBit { return Int(found) }
        if found != DispatchTable.empty {
            offer(found & ~DispatchTable.terminalBit, specificity: step.specificity)
        }
        return Int(step.target)
    }

    @inline(__always)
    mutating func offer(_ filter: UInt32, specificity: UInt16) {
        let rank = ranks[Int(filter)]
        if rank == 0 {
            tap(Int32(bitPattern: filter))
            return
        }
        best = max(best, DeliveryRank.candidate(rank, specificity: specificity))
    }

    private mutating func tap(_ filter: Int32) {
        if !UnsafeBufferPointer(start: taps, count: tapCount).contains(filter) {
            taps[tapCount] = filter
            tapCount += 1
        }
    }
}

private typealias StepPointer = UnsafePointer<DecodedStep>

/// Field access straight from the decoded program, so a step is never copied out whole.
fileprivate extension UnsafePointer where Pointee == DecodedStep {
    var kind: DecodedStep.Kind { @inline(__always) get { pointee.kind } }
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
    func holds(_ value: UInt32) -> Bool {
        DecodedStep.holds(value, low: operand, span: span, outside: outside)
    }

    /// Continue when the loaded value satisfies the relation; jump when not or unreadable.
    @inline(__always)
    func test(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return pc &+ DecodedStep.size }
        return Int(target)
    }

    /// Jump when the loaded value satisfies the relation; continue when not or unreadable.
    @inline(__always)
    func testNot(_ value: UInt32?, _ pc: Int) -> Int {
        if let value, holds(value) { return Int(target) }
        return pc &+ DecodedStep.size
    }
}
