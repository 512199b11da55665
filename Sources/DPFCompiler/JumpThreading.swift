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
        program.retarget { final($0, in: instructions) }
        // A jump to a halt may as well halt.
        for index in program.instructions.indices
        where program.instructions[index].opcode == .jump
            && instructions[Int(program.instructions[index].target)].opcode == .halt
        {
            program.instructions[index] = Instruction(.halt)
        }
    }

    /// Drops jumps that go to the next instruction, and jumps and halts that nothing reaches (right
    /// after another jump or halt, with no branch landing on them). The final halt stays.
    private static func removeDeadJumps(_ program: inout Program) {
        var targeted = Set<UInt32>()
        for instruction in program.instructions where instruction.opcode.hasTarget {
            targeted.insert(instruction.target)
        }
        for table in program.tables {
            targeted.formUnion(table.targets.filter(DispatchTable.isCodeTarget))
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
        program.instructions = zip(program.instructions, keep).filter(\.1).map(\.0)
        program.retarget { newIndex[Int($0)] }
    }
}
