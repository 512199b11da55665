/// Runs verified programs. Per packet it keeps its state in locals, allocates nothing and takes no
/// references: the caller passes the packet's bytes and a buffer for tap hits.
public struct Interpreter: Sendable {
    public let verified: VerifiedProgram
    private let instructions: [Instruction]
    private let tables: [DispatchTable]
    private let accepts: [AcceptRecord]
    private let registerCount: Int

    public init(_ verified: VerifiedProgram) {
        self.verified = verified
        instructions = verified.program.instructions
        tables = verified.program.tables
        accepts = verified.program.accepts
        registerCount = verified.program.registerCount
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
        instructions.withUnsafeBufferPointer { code in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: registerCount) { registers in
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
                        if let loaded = Interpreter.load(instruction, packet, length, registers),
                            let target = tables[Int(instruction.value)].lookup(loaded & instruction.mask)
                        {
                            pc = Int(target)
                        } else {
                            pc = Int(instruction.target)
                        }
                    case .accept:
                        let index = Int32(instruction.value)
                        let record = accepts[Int(index)]
                        if record.isTap {
                            if !taps[0..<tapCount].contains(index) {
                                taps[tapCount] = index
                                tapCount += 1
                            }
                        } else if owner < 0 || record.beats(accepts[Int(owner)]) {
                            owner = index
                        }
                        pc += 1
                    case .jump:
                        pc = Int(instruction.target)
                    case .halt:
                        return Outcome(owner: owner, tapCount: tapCount)
                    }
                }
            }
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
        guard start >= 0, start + width <= length else { return nil }
        switch width {
        case 1:
            return UInt32(packet[start])
        case 2:
            return UInt32(packet[start]) << 8 | UInt32(packet[start + 1])
        default:
            return UInt32(packet[start]) << 24 | UInt32(packet[start + 1]) << 16 | UInt32(packet[start + 2])
                << 8
                | UInt32(packet[start + 3])
        }
    }

    /// Convenience for tests and tools: runs over a byte array and returns the owner's filter and
    /// the taps' filters (allocates).
    public func run(_ bytes: [UInt8]) -> (owner: UInt32?, taps: [UInt32]) {
        var hits = [Int32](repeating: 0, count: max(1, accepts.count))
        let outcome = bytes.withUnsafeBytes { packet in
            hits.withUnsafeMutableBufferPointer { run(packet, taps: $0) }
        }
        let owner = outcome.owner >= 0 ? accepts[Int(outcome.owner)].filter : nil
        let taps = Set(hits[0..<outcome.tapCount].map { accepts[Int($0)].filter }).sorted()
        return (owner, taps)
    }
}
