/// The stable text form of a program (`dpf compile --emit bytecode`). It holds everything the
/// program holds, so `Assembler.assemble` reads it back to an equal program:
///
///     program registers 2 link 1
///     filter 0 "dns.1" app "dns"
///     accept 0: filter 0 priority 0 specificity 53 sequence 0
///     0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
///     0001  dispatch u16[12] table 0 else 0009
///     0002  test     u16[r1+16] == 0x35 else 0004
///     0003  accept   #0 dns.1
///     ...
///     table 0: 4 slots, multiplier 0x9e3779b97f4a7c15, collision-free
///       slot 1: 0x800 -> 0002
///       slot 3: 0x86dd -> accept #1
public enum Disassembler {
    public static func disassemble(_ program: Program) -> String {
        var lines = ["program registers \(program.registerCount) link \(program.linkType)"]
        lines.append(
            "# \(program.instructions.count) instructions, \(program.tables.count) tables, \(program.accepts.count) accepts, \(program.byteCount) bytes"
        )
        for (index, (name, app)) in zip(program.filterNames, program.filterApps).enumerated()
        where !name.isEmpty {
            lines.append("filter \(index) \(quote(name)) app \(quote(app))")
        }
        for (index, record) in program.accepts.enumerated() {
            let role = record.isTap ? " tap" : ""
            lines.append(
                "accept \(index): filter \(record.filter)\(role) priority \(record.priority) specificity \(record.specificity) sequence \(record.sequence)"
            )
        }
        for (index, instruction) in program.instructions.enumerated() {
            lines.append(label(index) + "  " + describe(instruction, in: program))
        }
        for (index, table) in program.tables.enumerated() {
            let kind = table.collisionFree ? "collision-free" : "probing"
            lines.append(
                "table \(index): \(table.capacity) slots, multiplier 0x\(String(table.multiplier, radix: 16)), \(kind)"
            )
            for slot in 0..<table.capacity where table.targets[slot] != DispatchTable.empty {
                let target = table.targets[slot]
                let destination =
                    DispatchTable.isTerminal(target)
                    ? accept(Int(target & ~DispatchTable.terminalBit), in: program) : label(Int(target))
                lines.append("  slot \(slot): \(hex(table.keys[slot])) -> \(destination)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
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

    /// `accept #3 web.http` (the name is a comment for readers; the number is what counts). A `*` after
    /// a mnemonic marks a load whose bounds an earlier `check` proved.
    static func accept(_ index: Int, in program: Program) -> String {
        guard index < program.accepts.count else { return "accept #\(index)" }
        let filter = Int(program.accepts[index].filter)
        let name = filter < program.filterNames.count ? program.filterNames[filter] : ""
        return name.isEmpty ? "accept #\(index)" : "accept #\(index) \(name)"
    }

    public static func describe(_ instruction: Instruction, in program: Program) -> String {
        switch instruction.opcode {
        case .shift:
            return
                "shift    r\(instruction.register) = r\(instruction.base) + \(1 << instruction.aux)*(\(load(instruction)))"
        case .test, .testNot:
            let mnemonic =
                (instruction.opcode == .test ? "test" : "testnot") + (instruction.isBoundsProven ? "*" : "")
            return mnemonic.padding(9)
                + "\(load(instruction)) \(instruction.relation.symbol) \(hex(instruction.value)) else \(label(Int(instruction.target)))"
        case .dispatch:
            return ("dispatch" + (instruction.isBoundsProven ? "*" : "")).padding(9)
                + "\(load(instruction)) table \(instruction.value) else \(label(Int(instruction.target)))"
        case .check:
            let base = instruction.base == 0 ? "" : "r\(instruction.base)+"
            return "check    \(base)\(instruction.value) else \(label(Int(instruction.target)))"
        case .accept:
            return "accept   " + accept(Int(instruction.value), in: program).dropFirst("accept ".count)
        case .jump:
            return "jump     \(label(Int(instruction.target)))"
        case .halt:
            return "halt"
        }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(1, width - count))
    }

    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
