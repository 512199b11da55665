/// The stable text form of a program (`dpf compile --emit bytecode`).
public enum Disassembler {
    public static func disassemble(_ program: Program) -> String {
        var lines = [
            "registers \(program.registerCount), \(program.instructions.count) instructions, \(program.tables.count) tables, \(program.accepts.count) accepts, \(program.byteCount) bytes"
        ]
        for (index, instruction) in program.instructions.enumerated() {
            lines.append(label(index) + "  " + describe(instruction, in: program))
        }
        for (index, table) in program.tables.enumerated() {
            let kind = table.collisionFree ? "collision-free" : "probing"
            lines.append("table \(index): \(table.entries.count) entries, \(table.capacity) slots, \(kind)")
            for entry in table.entries {
                if DispatchTable.isTerminal(entry.target) {
                    let record = entry.target & ~DispatchTable.terminalBit
                    lines.append(
                        "  \(hex(entry.key)) -> " + describe(Instruction(.accept, value: record), in: program)
                    )
                } else {
                    lines.append("  \(hex(entry.key)) -> \(label(Int(entry.target)))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func label(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    static func load(_ instruction: Instruction) -> String {
        let base = instruction.base == 0 ? "" : "r\(instruction.base)+"
        let full: UInt32 = instruction.width == 4 ? .max : (1 << (8 * UInt32(instruction.width))) - 1
        let masked = instruction.mask == full ? "" : " & \(hex(instruction.mask))"
        return "u\(8 * Int(instruction.width))[\(base)\(instruction.offset)]\(masked)"
    }

    public static func describe(_ instruction: Instruction, in program: Program) -> String {
        switch instruction.opcode {
        case .shift:
            return
                "shift    r\(instruction.register) = r\(instruction.base) + \(1 << instruction.aux)*(\(load(instruction)))"
        case .test:
            return
                "test     \(load(instruction)) \(instruction.relation.symbol) \(hex(instruction.value)) else \(label(Int(instruction.target)))"
        case .testNot:
            return
                "testnot  \(load(instruction)) \(instruction.relation.symbol) \(hex(instruction.value)) else \(label(Int(instruction.target)))"
        case .dispatch:
            return
                "dispatch \(load(instruction)) table \(instruction.value) else \(label(Int(instruction.target)))"
        case .accept:
            guard Int(instruction.value) < program.accepts.count else {
                return "accept   #\(instruction.value)"
            }
            let record = program.accepts[Int(instruction.value)]
            let name =
                Int(record.filter) < program.filterNames.count
                ? program.filterNames[Int(record.filter)] : "#\(record.filter)"
            let role = record.isTap ? "tap" : "priority \(record.priority), specificity \(record.specificity)"
            return "accept   \(name) (\(role))"
        case .jump:
            return "jump     \(label(Int(instruction.target)))"
        case .halt:
            return "halt"
        }
    }
}
