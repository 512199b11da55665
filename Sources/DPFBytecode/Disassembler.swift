/// The stable text form of a program (`dpf compile --emit bytecode`). It holds everything the
/// program holds, so `Assembler.assemble` reads it back to an equal program:
///
///     program registers 2 link 1
///     filter 0 "dns.1" app "dns" priority 0
///     0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
///     0001  dispatch u16[12] table 0 else 0009
///     0002  test     u16[r1+16] == 0x35 else 0004
///     0003  accept   specificity 53 #0  // dns.1
///     ...
///     table 0: collision-free, 4 slots, multiplier 0x9e3779b97f4a7c15
///       slot 1: 0x800 -> 0002
///       slot 3: 0x86dd -> 0007
///     table 1: direct, 3 slots from 0x400
///       0x400 -> accept #0  // dns.1
///
/// Filters are listed in install order, the delivery rule's last tie-break.
public enum Disassembler {
    public static func disassemble(_ program: Program) -> String {
        var lines = ["program registers \(program.registerCount) link \(program.linkType)"]
        lines.append(
            "# \(program.instructions.count) instructions, \(program.tables.count) tables, \(program.filters.count) filters, \(program.byteCount) bytes"
        )
        for (index, filter) in program.filters.enumerated() {
            let role = filter.isTap ? " tap" : ""
            lines.append(
                "filter \(index) \(quote(filter.name)) app \(quote(filter.app)) priority \(filter.priority)\(role)"
            )
        }
        for (index, instruction) in program.instructions.enumerated() {
            lines.append(label(index) + "  " + describe(instruction, in: program))
        }
        for (index, table) in program.tables.enumerated() {
            switch table.layout {
            case .direct:
                lines.append("table \(index): direct, \(table.capacity) slots from \(hex(table.firstKey))")
            case .collisionFree, .probing:
                let kind = table.layout == .collisionFree ? "collision-free" : "probing"
                lines.append(
                    "table \(index): \(kind), \(table.capacity) slots, multiplier 0x\(String(table.multiplier, radix: 16))"
                )
            }
            for slot in 0..<table.capacity where table.targets[slot] != DispatchTable.empty {
                let target = table.targets[slot]
                let destination =
                    DispatchTable.isTerminal(target)
                    ? "accept " + filter(Int(target & ~DispatchTable.terminalBit), in: program)
                    : label(Int(target))
                let place = table.isHashed ? "slot \(slot): " : ""
                lines.append("  \(place)\(hex(table.key(at: slot))) -> \(destination)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` in quotes, with backslashes, quotes, line feeds and carriage returns escaped (`\\`,
    /// `\"`, `\n`, `\r`), so it stays on its line and `Assembler` reads it back.
    static func quote(_ text: String) -> String { "\"" + escaped(text) + "\"" }

    static func escaped(_ text: String) -> String {
        var result = ""
        // By scalar: a carriage return and line feed together are one `Character`.
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
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

    /// `#3  // web.http`: the number is what counts, the name (escaped as in `quote`, so it stays on
    /// its line) a comment for readers. A `*` after a mnemonic marks a load whose bounds an earlier
    /// `check` proved.
    static func filter(_ index: Int, in program: Program) -> String {
        index < program.filters.count ? "#\(index)  // \(escaped(program.filters[index].name))" : "#\(index)"
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
            let specificity = instruction.specificity == 0 ? "" : " specificity \(instruction.specificity)"
            return ("dispatch" + (instruction.isBoundsProven ? "*" : "")).padding(9)
                + "\(load(instruction)) table \(instruction.value)\(specificity) else \(label(Int(instruction.target)))"
        case .check:
            let base = instruction.base == 0 ? "" : "r\(instruction.base)+"
            return "check    \(base)\(instruction.value) else \(label(Int(instruction.target)))"
        case .accept:
            return "accept   specificity \(instruction.specificity) "
                + filter(Int(instruction.value), in: program)
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
}
