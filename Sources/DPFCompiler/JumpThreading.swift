import DPFBytecode

/// Peephole clean-up after lowering: every branch that lands on a `jump` goes straight to where
/// that jump goes, a jump to `halt` becomes a `halt`, and jumps no branch needs any more (to the
/// next instruction, or never reached) are removed. Targets only ever move forward, so the result still verifies.
enum JumpThreading {
    static func apply(to program: inout Program) {
        // Removing jumps can leave a jump aimed at its new next instruction: repeat until stable.
        var count = Int.max
        while program.instructions.count < count {
            count = program.instructions.count
            thread(&program)
            removeDeadJumps(&program)
        }
    }

    private static func final(_ target: UInt32, in instructions: [Instruction]) -> UInt32 {
        var target = target
        while instructions[Int(target)].opcode == .jump { target = instructions[Int(target)].target }
        return target
    }

    private static func thread(_ program: inout Program) {
        let instructions = program.instructions
        for index in program.instructions.indices {
            switch program.instructions[index].opcode {
            case .test, .testNot, .dispatch, .jump, .check:
                program.instructions[index].target = final(
                    program.instructions[index].target, in: instructions)
            default:
                break
            }
            // A jump to a halt may as well halt.
            if program.instructions[index].opcode == .jump,
                instructions[Int(program.instructions[index].target)].opcode == .halt
            {
                program.instructions[index] = Instruction(.halt)
            }
        }
        for table in program.tables.indices {
            let entries = program.tables[table].entries.map { entry in
                (
                    entry.key,
                    DispatchTable.isTerminal(entry.target)
                        ? entry.target : final(entry.target, in: instructions)
                )
            }
            program.tables[table] = DispatchTable.build(entries)
        }
    }

    /// Drops jumps that go to the next instruction, and jumps and halts that nothing reaches (right
    /// after another jump or halt, with no branch landing on them). The final halt stays.
    private static func removeDeadJumps(_ program: inout Program) {
        var targeted = Set<UInt32>()
        for instruction in program.instructions
        where [.test, .testNot, .dispatch, .jump, .check].contains(instruction.opcode) {
            targeted.insert(instruction.target)
        }
        for table in program.tables {
            targeted.formUnion(table.entries.map(\.target).filter { !DispatchTable.isTerminal($0) })
        }
        var keep = [Bool](repeating: true, count: program.instructions.count)
        for index in program.instructions.indices.dropLast()
        where [.jump, .halt].contains(program.instructions[index].opcode) {
            let toNext =
                program.instructions[index].opcode == .jump
                && program.instructions[index].target == UInt32(index + 1)
            let unreachable =
                index > 0 && !targeted.contains(UInt32(index))
                && [.jump, .halt].contains(program.instructions[index - 1].opcode)
            if toNext || unreachable { keep[index] = false }
        }
        // Where each old index lands: the next kept instruction at or after it.
        var newIndex = [UInt32](repeating: 0, count: program.instructions.count + 1)
        var next = UInt32(keep.filter { $0 }.count)
        newIndex[program.instructions.count] = next
        for index in program.instructions.indices.reversed() {
            if keep[index] { next -= 1 }
            newIndex[index] = keep[index] ? next : newIndex[index + 1]
        }
        var kept: [Instruction] = []
        for (index, var instruction) in program.instructions.enumerated() where keep[index] {
            if [.test, .testNot, .dispatch, .jump, .check].contains(instruction.opcode) {
                instruction.target = newIndex[Int(instruction.target)]
            }
            kept.append(instruction)
        }
        program.instructions = kept
        for table in program.tables.indices {
            let entries = program.tables[table].entries.map { entry in
                (
                    entry.key,
                    DispatchTable.isTerminal(entry.target) ? entry.target : newIndex[Int(entry.target)]
                )
            }
            program.tables[table] = DispatchTable.build(entries)
        }
    }
}
