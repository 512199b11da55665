import DPFWire

/// Why the verifier refused a program, and where.
public struct VerifierError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case empty
        case missingHalt
        case badWidth
        case maskWiderThanLoad
        case outsidePacketWindow
        case badRegister
        /// A shift scale above 3 (a multiplier above 8).
        case badScale
        case shiftOutsidePrologue
        case backwardJump
        case targetOutOfRange
        case badTable
        case badAccept
        case tooManyRegisters
        /// More than `Verifier.maximumInstructions` instructions, `maximumFilters` filters,
        /// `maximumTableSlots` table slots or `maximumEdges` dispatch edges.
        case tooLarge
        /// A specificity above `Verifier.maximumSpecificity`.
        case badSpecificity
        /// Filter ids not strictly increasing (so two numbers would name one filter, or number
        /// order would not be install order).
        case badFilterID
        /// A load marked bounds-proven is not covered by a `check` on every path to it.
        case unprovenLoad
    }

    public let kind: Kind
    /// The offending instruction, or -1 for the program as a whole.
    public let instruction: Int
    public let message: String

    public var description: String {
        instruction >= 0 ? "instruction \(instruction): \(message)" : message
    }
}

/// A program the verifier accepted: the interpreter runs it without per-instruction checks.
public struct VerifiedProgram: Sendable {
    public let program: Program
    /// The program's apps, in order of their first filter.
    public let apps: [String]
    /// Each filter's app, as an index into `apps`.
    public let appOfFilter: [Int32]

    fileprivate init(_ program: Program) {
        self.program = program
        (apps, appOfFilter) = program.appIndex
    }
}

/// Checks everything the interpreter relies on: jumps only forward and inside the program (so every
/// run ends), a final `halt`, at most `maximumInstructions` instructions and `maximumRegisters`
/// registers, loads and `check`s inside the 64 KiB packet window with masks no wider than the
/// load, base registers written by shifts in the prologue before use (each written once, scale at
/// most 3), `check`s only of registers already written, specificities within
/// `maximumSpecificity`, table and filter numbers in range (terminal table entries included),
/// tables well formed, and every load marked bounds-proven covered by a `check` on every path.
///
/// Every part of the program is checked, whether or not anything refers to it: the interpreter
/// decodes every instruction and every table when it loads a program, so a table no `dispatch`
/// reads must still be well formed, jump inside the program and accept only filters that exist.
/// Such a table is not refused outright: it is harmless once checked, and refusing it would add a
/// rule that safety does not need. The work is linear in the program's size, and bounded by the
/// limits below, so verifying a crafted program cannot hang either.
public enum Verifier {
    public static let maximumRegisters = 16
    /// Keeps every instruction's byte offset in the interpreter's decoded form below 2^31.
    public static let maximumInstructions = 1 << 20
    /// Specificity counts header bits a path tested; the interpreter packs it into 16 bits.
    public static let maximumSpecificity: UInt32 = 0xFFFF
    /// Filters a program may accept; keeps filter numbers far below the 2^31 the interpreter's
    /// delivery key and its `Int32` owners can hold.
    public static let maximumFilters = 1 << 24
    /// Slots of all tables together (a 128 MiB program at most); keeps every slot's position in
    /// the interpreter's decoded tables within 32 bits.
    public static let maximumTableSlots = 1 << 24
    /// Jumps from dispatches into code, counted once per dispatch and distinct target; bounds the
    /// work of proving loads when many dispatches share one large table.
    public static let maximumEdges = 1 << 24

    public static func verify(_ program: Program) throws(VerifierError) -> VerifiedProgram {
        let instructions = program.instructions
        guard let last = instructions.last else {
            throw VerifierError(kind: .empty, instruction: -1, message: "the program is empty")
        }
        guard last.opcode == .halt else {
            throw VerifierError(
                kind: .missingHalt, instruction: instructions.count - 1,
                message: "the last instruction must be halt")
        }
        guard instructions.count <= maximumInstructions else {
            throw VerifierError(
                kind: .tooLarge, instruction: -1,
                message: "\(instructions.count) instructions, more than \(maximumInstructions)")
        }
        guard (1...maximumRegisters).contains(program.registerCount) else {
            throw VerifierError(
                kind: .tooManyRegisters, instruction: -1,
                message: "register count \(program.registerCount) outside 1...\(maximumRegisters)")
        }
        guard program.filters.count <= maximumFilters else {
            throw VerifierError(
                kind: .tooLarge, instruction: -1,
                message: "\(program.filters.count) filters, more than \(maximumFilters)")
        }
        for (number, pair) in zip(program.filters, program.filters.dropFirst()).enumerated()
        where pair.0.id >= pair.1.id {
            throw VerifierError(
                kind: .badFilterID, instruction: -1,
                message:
                    "filter \(number + 1) has id \(pair.1.id), not above filter \(number)'s id \(pair.0.id)")
        }
        // Counted before anything reads a slot, so the work below stays bounded.
        let slots = program.tables.reduce(0) { $0 + $1.capacity }
        guard slots <= maximumTableSlots else {
            throw VerifierError(
                kind: .tooLarge, instruction: -1,
                message: "\(slots) table slots, more than \(maximumTableSlots)")
        }
        let summaries = program.tables.map { TableSummary($0, filterCount: program.filters.count) }
        var written = Set<UInt8>([0])
        var inPrologue = true
        var edges = 0
        for (index, instruction) in instructions.enumerated() {
            if instruction.opcode != .shift { inPrologue = false }
            try check(
                instruction, at: index, in: program, summaries: summaries, written: &written,
                inPrologue: inPrologue)
            if instruction.opcode == .dispatch {
                edges += summaries[Int(instruction.value)].codeTargets.count
                guard edges <= maximumEdges else {
                    throw VerifierError(
                        kind: .tooLarge, instruction: index,
                        message: "more than \(maximumEdges) jumps from dispatches into the code")
                }
            }
        }
        // Every table, including those no dispatch reads: the interpreter decodes them all.
        for (index, table) in program.tables.enumerated() { try check(table, index: index, in: program) }
        try checkProvenLoads(program, summaries: summaries)
        return VerifiedProgram(program)
    }

    /// What the dispatches of a table need to know of its entries, gathered once per table (a
    /// table may serve many dispatches).
    private struct TableSummary {
        /// The distinct targets of entries that lead into the code, ascending.
        let codeTargets: [UInt32]
        /// The first terminal entry, in slot order, that names a filter the program lacks.
        let missingFilter: UInt32?

        init(_ table: DispatchTable, filterCount: Int) {
            var targets = Set<UInt32>()
            var missing: UInt32?
            for target in table.targets where target != DispatchTable.empty {
                if DispatchTable.isTerminal(target) {
                    let filter = target & ~DispatchTable.terminalBit
                    if missing == nil && Int(filter) >= filterCount { missing = filter }
                } else {
                    targets.insert(target)
                }
            }
            codeTargets = targets.sorted()
            missingFilter = missing
        }
    }

    private static func fail(_ kind: VerifierError.Kind, _ index: Int, _ message: String) -> VerifierError {
        VerifierError(kind: kind, instruction: index, message: message)
    }

    private static func check(
        _ instruction: Instruction, at index: Int, in program: Program, summaries: [TableSummary],
        written: inout Set<UInt8>, inPrologue: Bool
    ) throws(VerifierError) {
        guard instruction.specificity <= maximumSpecificity else {
            throw fail(
                .badSpecificity, index,
                "specificity \(instruction.specificity) above \(maximumSpecificity)")
        }
        switch instruction.opcode {
        case .shift, .test, .testNot, .dispatch:
            try checkLoad(instruction, at: index, written: written)
        default:
            break
        }
        switch instruction.opcode {
        case .shift:
            guard inPrologue else { throw fail(.shiftOutsidePrologue, index, "shift after the prologue") }
            guard instruction.register > instruction.base, Int(instruction.register) < program.registerCount,
                !written.contains(instruction.register)
            else {
                throw fail(
                    .badRegister, index, "shift writes register r\(instruction.register), which it may not")
            }
            guard instruction.aux <= 3 else {
                throw fail(.badScale, index, "shift scale \(instruction.aux) above 3")
            }
            written.insert(instruction.register)
        case .test, .testNot, .jump:
            try checkTarget(instruction.target, from: index, in: program)
        case .check:
            guard written.contains(instruction.base) else {
                throw fail(
                    .badRegister, index, "check of register r\(instruction.base) before the prologue sets it")
            }
            guard instruction.value <= UInt32(PacketLoad.window) else {
                throw fail(
                    .outsidePacketWindow, index,
                    "check of \(instruction.value) bytes leaves the 64 KiB packet window")
            }
            try checkTarget(instruction.target, from: index, in: program)
        case .dispatch:
            guard Int(instruction.value) < program.tables.count else {
                throw fail(.badTable, index, "table \(instruction.value) does not exist")
            }
            try checkTarget(instruction.target, from: index, in: program)
            let summary = summaries[Int(instruction.value)]
            if let filter = summary.missingFilter {
                throw fail(
                    .badAccept, index,
                    "table \(instruction.value) accepts filter \(filter), which does not exist")
            }
            // The lowest and the highest target stand for all of them.
            if let lowest = summary.codeTargets.first, let highest = summary.codeTargets.last {
                try checkTarget(lowest, from: index, in: program)
                try checkTarget(highest, from: index, in: program)
            }
        case .accept:
            guard Int(instruction.value) < program.filters.count else {
                throw fail(.badAccept, index, "accept of filter \(instruction.value), which does not exist")
            }
        case .halt:
            break
        }
    }

    private static func checkLoad(_ instruction: Instruction, at index: Int, written: Set<UInt8>)
        throws(VerifierError)
    {
        guard [1, 2, 4].contains(instruction.width) else {
            throw fail(.badWidth, index, "load width \(instruction.width) is not 1, 2 or 4")
        }
        guard instruction.mask & ~PacketLoad.fullMask(width: Int(instruction.width)) == 0 else {
            throw fail(
                .maskWiderThanLoad, index,
                "mask 0x\(String(instruction.mask, radix: 16)) is wider than a \(instruction.width)-byte load"
            )
        }
        guard Int(instruction.offset) + Int(instruction.width) <= PacketLoad.window else {
            throw fail(
                .outsidePacketWindow, index, "load at \(instruction.offset) leaves the 64 KiB packet window")
        }
        guard written.contains(instruction.base) else {
            throw fail(
                .badRegister, index, "load from register r\(instruction.base) before the prologue sets it")
        }
    }

    /// Every bounds-proven load must be covered, on every path that reaches it, by a `check` of
    /// its base register reaching at least as far. Jumps only go forward, so one pass in program
    /// order sees every predecessor of an instruction before the instruction itself.
    private static func checkProvenLoads(_ program: Program, summaries: [TableSummary]) throws(VerifierError)
    {
        let instructions = program.instructions
        var incoming = [[UInt8: Int]?](repeating: nil, count: instructions.count)
        incoming[0] = [:]
        func merge(_ facts: [UInt8: Int], into target: Int) {
            guard let existing = incoming[target] else {
                incoming[target] = facts
                return
            }
            var met: [UInt8: Int] = [:]
            for (register, end) in existing {
                if let other = facts[register] { met[register] = min(end, other) }
            }
            incoming[target] = met
        }
        for (index, instruction) in instructions.enumerated() {
            guard let facts = incoming[index] else { continue }  // unreachable
            if instruction.isBoundsProven {
                let end = Int(instruction.offset) + Int(instruction.width)
                guard let proven = facts[instruction.base], proven >= end else {
                    throw fail(
                        .unprovenLoad, index,
                        "load marked proven, but no check covers r\(instruction.base) up to \(end) on every path"
                    )
                }
            }
            switch instruction.opcode {
            case .halt:
                break
            case .jump:
                merge(facts, into: Int(instruction.target))
            case .dispatch:
                merge(facts, into: Int(instruction.target))
                for target in summaries[Int(instruction.value)].codeTargets {
                    merge(facts, into: Int(target))
                }
            case .check:
                merge(facts, into: Int(instruction.target))
                var passed = facts
                passed[instruction.base] = max(passed[instruction.base] ?? 0, Int(instruction.value))
                merge(passed, into: index + 1)
            case .test, .testNot:
                merge(facts, into: Int(instruction.target))
                merge(facts, into: index + 1)
            case .shift, .accept:
                merge(facts, into: index + 1)
            }
        }
    }

    private static func checkTarget(_ target: UInt32, from index: Int, in program: Program)
        throws(VerifierError)
    {
        guard Int(target) > index else {
            throw fail(.backwardJump, index, "jump to \(target) does not go forward")
        }
        guard Int(target) < program.instructions.count else {
            throw fail(.targetOutOfRange, index, "jump to \(target) leaves the program")
        }
    }

    private static func check(_ table: DispatchTable, index: Int, in program: Program) throws(VerifierError) {
        try checkLayout(table, index: index)
        for slot in 0..<table.capacity where table.targets[slot] != DispatchTable.empty {
            let target = table.targets[slot]
            if DispatchTable.isTerminal(target) {
                guard Int(target & ~DispatchTable.terminalBit) < program.filters.count else {
                    throw fail(
                        .badAccept, -1,
                        "table \(index) accepts filter \(target & ~DispatchTable.terminalBit), which does not exist"
                    )
                }
            } else {
                guard Int(target) < program.instructions.count else {
                    throw fail(
                        .targetOutOfRange, -1,
                        "table \(index): key \(hex(table.key(at: slot))) jumps to \(target), outside the program's \(program.instructions.count) instructions"
                    )
                }
            }
        }
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    private static func checkLayout(_ table: DispatchTable, index: Int) throws(VerifierError) {
        let capacity = table.capacity
        guard table.layout != .direct else {
            guard capacity >= 1 else {
                throw fail(.badTable, -1, "table \(index): a direct table has no slots")
            }
            guard table.keys.isEmpty else {
                throw fail(
                    .badTable, -1,
                    "table \(index): a direct table stores no keys, but this one has \(table.keys.count)")
            }
            // Written so that no parameter, however large, overflows.
            guard table.parameter < 1 << 32, UInt64(capacity) <= (1 << 32) - table.parameter else {
                throw fail(
                    .badTable, -1,
                    "table \(index): direct keys from 0x\(String(table.parameter, radix: 16)) over \(capacity) slots leave 32 bits"
                )
            }
            return
        }
        guard capacity >= 2, capacity & (capacity - 1) == 0 else {
            throw fail(
                .badTable, -1, "table \(index): capacity \(capacity) is not a power of two of at least 2")
        }
        guard table.keys.count == capacity else {
            throw fail(.badTable, -1, "table \(index): \(table.keys.count) keys for \(capacity) slots")
        }
        guard let free = table.targets.firstIndex(of: DispatchTable.empty) else {
            throw fail(.badTable, -1, "table \(index) has no free slot")
        }
        var seen = Set<UInt32>()
        for slot in 0..<capacity where table.targets[slot] != DispatchTable.empty {
            guard seen.insert(table.keys[slot]).inserted else {
                throw fail(
                    .badTable, -1, "table \(index) holds key 0x\(String(table.keys[slot], radix: 16)) twice")
            }
        }
        // How many occupied slots end at each slot (0 for a free one), going round from a free
        // slot: a key is found from its home without crossing a free slot exactly when its home
        // lies within the run that ends at its slot. One pass, however the keys cluster.
        var run = [Int](repeating: 0, count: capacity)
        var length = 0
        for step in 1...capacity {
            let slot = (free + step) & (capacity - 1)
            length = table.targets[slot] == DispatchTable.empty ? 0 : length + 1
            run[slot] = length
        }
        for slot in 0..<capacity where table.targets[slot] != DispatchTable.empty {
            let home = table.home(of: table.keys[slot])
            if table.layout == .collisionFree && home != slot {
                throw fail(
                    .badTable, -1,
                    "table \(index) claims to be collision-free but a key is not in its home slot")
            }
            guard (slot - home) & (capacity - 1) < run[slot] else {
                throw fail(.badTable, -1, "table \(index): a key cannot be reached from its home slot")
            }
        }
    }
}
