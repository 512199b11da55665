import DPFWire

/// The stable text form of a program (`dpf compile --emit bytecode`). It holds everything the
/// program holds, so `Assembler.assemble` reads it back to an equal program:
///
///     program registers 2 link 1
///     filter 0 id 0 "dns.1" app "dns" priority 0
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
///
/// It prints any program, verified or not, and never traps: a program the verifier refuses prints
/// as well as it can (a load of width 3 as `u24`), for the reader to see what is wrong.
public enum Disassembler {
    public static func disassemble(_ program: Program) -> String {
        var lines = ["program registers \(program.registerCount) link \(program.linkType)"]
        lines.append(
            "# \(program.instructions.count) instructions, \(program.tables.count) tables, \(program.filters.count) filters, \(program.byteCount) bytes"
        )
        for (index, filter) in program.filters.enumerated() {
            let role = filter.isTap ? " tap" : ""
            lines.append(
                "filter \(index) id \(filter.id) \(quote(filter.name)) app \(quote(filter.app)) priority \(filter.priority)\(role)"
            )
        }
        for (index, instruction) in program.instructions.enumerated() {
            lines.append(label(index) + "  " + describe(instruction, in: program))
        }
        for (index, table) in program.tables.enumerated() {
            switch table.layout {
            case .direct:
                // The whole parameter: a verified table's first key fits 32 bits, another's may not.
                lines.append(
                    "table \(index): direct, \(table.capacity) slots from 0x\(String(table.parameter, radix: 16))"
                )
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
                // A malformed hashed table (the verifier refuses it) may lack this slot's key.
                let key = table.isHashed && slot >= table.keys.count ? "(no key)" : hex(table.key(at: slot))
                lines.append("  \(place)\(key) -> \(destination)")
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
        let masked =
            instruction.mask == PacketLoad.fullMask(width: Int(instruction.width))
            ? "" : " & \(hex(instruction.mask))"
        return "u\(8 * Int(instruction.width))[\(base)\(instruction.offset)]\(masked)"
    }

    /// A shift's multiplier, 2^`aux`; written as a power where it would not fit (the verifier
    /// allows 1 to 8).
    static func scale(_ aux: UInt8) -> String { aux < 63 ? String(1 << aux) : "2^\(aux)" }

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
                "shift    r\(instruction.register) = r\(instruction.base) + \(scale(instruction.aux))*(\(load(instruction)))"
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
