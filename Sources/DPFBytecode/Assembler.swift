/// A line the assembler could not read.
public struct AssemblerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads the text `Disassembler` writes back into a program, for tests and hand-written programs.
/// The result still has to pass the `Verifier` before it runs.
public enum Assembler {
    public static func assemble(_ text: String) throws(AssemblerError) -> Program {
        var program = Program(instructions: [])
        var names: [Int: (String, String)] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var cursor = Cursor(text: line, line: number + 1)
            try cursor.statement(into: &program, names: &names)
        }
        let count = (names.keys.max() ?? -1) + 1
        program.filterNames = (0..<count).map { names[$0]?.0 ?? "" }
        program.filterApps = (0..<count).map { names[$0]?.1 ?? "" }
        return program
    }

    struct Cursor {
        let text: Substring
        let line: Int
        var position: Substring.Index

        init(text: Substring, line: Int) {
            self.text = text
            self.line = line
            position = text.startIndex
        }

        func fail(_ message: String) -> AssemblerError { AssemblerError(line: line, message: message) }

        mutating func skipSpaces() {
            while position < text.endIndex, text[position] == " " || text[position] == "\t" {
                position = text.index(after: position)
            }
        }

        var atEnd: Bool {
            mutating get {
                skipSpaces()
                return position == text.endIndex
            }
        }

        /// The next run of characters up to a space or one of `stops`.
        mutating func word(stops: Set<Character> = []) -> Substring {
            skipSpaces()
            let start = position
            while position < text.endIndex, text[position] != " ", !stops.contains(text[position]) {
                position = text.index(after: position)
            }
            return text[start..<position]
        }

        mutating func expect(_ literal: String) throws(AssemblerError) {
            skipSpaces()
            guard text[position...].hasPrefix(literal) else {
                throw fail("expected '\(literal)' at '\(text[position...].prefix(20))'")
            }
            position = text.index(position, offsetBy: literal.count)
        }

        mutating func accepts(_ literal: String) -> Bool {
            skipSpaces()
            guard text[position...].hasPrefix(literal) else { return false }
            position = text.index(position, offsetBy: literal.count)
            return true
        }

        mutating func number<T: FixedWidthInteger>(
            _ type: T.Type, stops: Set<Character> = [",", ":", "]", ")", "+"]
        ) throws(AssemblerError) -> T {
            let token = word(stops: stops)
            let value = token.hasPrefix("0x") ? T(token.dropFirst(2), radix: 16) : T(token)
            guard let value else { throw fail("'\(token)' is not a number") }
            return value
        }

        mutating func quoted() throws(AssemblerError) -> String {
            try expect("\"")
            var result = ""
            while position < text.endIndex, text[position] != "\"" {
                if text[position] == "\\" { position = text.index(after: position) }
                guard position < text.endIndex else { break }
                result.append(text[position])
                position = text.index(after: position)
            }
            try expect("\"")
            return result
        }

        mutating func register() throws(AssemblerError) -> UInt8 {
            try expect("r")
            return try number(UInt8.self, stops: [" ", "+", ")"])
        }

        /// `u16[r1+16] & 0xfff` into the instruction's width, base, offset and mask.
        mutating func load(into instruction: inout Instruction) throws(AssemblerError) {
            try expect("u")
            let bits = try number(UInt8.self, stops: ["["])
            guard [8, 16, 32].contains(bits) else { throw fail("load width u\(bits) is not u8, u16 or u32") }
            instruction.width = bits / 8
            try expect("[")
            skipSpaces()
            if text[position...].hasPrefix("r") {
                instruction.base = try register()
                try expect("+")
            }
            instruction.offset = try number(UInt16.self)
            try expect("]")
            instruction.mask = bits == 32 ? .max : (1 << UInt32(bits)) - 1
            if accepts("&") { instruction.mask = try number(UInt32.self, stops: [")"]) }
        }

        mutating func target() throws(AssemblerError) -> UInt32 { try number(UInt32.self) }

        mutating func statement(into program: inout Program, names: inout [Int: (String, String)])
            throws(AssemblerError)
        {
            let keyword = word(stops: [":"])
            switch keyword {
            case "program":
                try expect("registers")
                program.registerCount = Int(try number(UInt8.self))
                try expect("link")
                program.linkType = try number(UInt32.self)
            case "filter":
                let index = Int(try number(UInt32.self))
                let name = try quoted()
                try expect("app")
                names[index] = (name, try quoted())
            case "accept":
                let index = Int(try number(UInt32.self))
                guard index == program.accepts.count else { throw fail("accept \(index) out of order") }
                try expect(":")
                try expect("filter")
                let filter = try number(UInt32.self)
                let isTap = accepts("tap")
                try expect("priority")
                let priority = try number(Int32.self)
                try expect("specificity")
                let specificity = try number(Int32.self)
                try expect("sequence")
                program.accepts.append(
                    AcceptRecord(
                        filter: filter, isTap: isTap, priority: priority, specificity: specificity,
                        sequence: try number(UInt64.self)))
            case "table":
                let index = Int(try number(UInt32.self))
                guard index == program.tables.count else { throw fail("table \(index) out of order") }
                try expect(":")
                let capacity = Int(try number(UInt32.self))
                guard (2...(1 << 24)).contains(capacity) else {
                    throw fail("table capacity \(capacity) out of range")
                }
                try expect("slots,")
                try expect("multiplier")
                let multiplier = try number(UInt64.self)
                try expect(",")
                let kind = word()
                guard kind == "collision-free" || kind == "probing" else {
                    throw fail("expected 'collision-free' or 'probing'")
                }
                program.tables.append(
                    DispatchTable(
                        keys: Array(repeating: 0, count: capacity),
                        targets: Array(repeating: DispatchTable.empty, count: capacity),
                        multiplier: multiplier, collisionFree: kind == "collision-free"))
            case "slot":
                guard !program.tables.isEmpty else { throw fail("slot outside a table") }
                let slot = Int(try number(UInt32.self))
                guard slot < program.tables[program.tables.count - 1].capacity else {
                    throw fail("slot \(slot) outside the table")
                }
                try expect(":")
                let key = try number(UInt32.self)
                try expect("->")
                let target: UInt32
                if accepts("accept") {
                    try expect("#")
                    target = DispatchTable.terminalBit | (try number(UInt32.self))
                } else {
                    target = try self.target()
                }
                program.tables[program.tables.count - 1].keys[slot] = key
                program.tables[program.tables.count - 1].targets[slot] = target
            default:
                guard let index = Int(keyword), index == program.instructions.count else {
                    throw fail(
                        "expected an instruction numbered \(program.instructions.count), found '\(keyword)'")
                }
                program.instructions.append(try instruction())
            }
        }

        mutating func instruction() throws(AssemblerError) -> Instruction {
            let mnemonic = word()
            switch mnemonic {
            case "shift":
                var instruction = Instruction(.shift)
                instruction.register = try register()
                try expect("=")
                instruction.base = try register()
                try expect("+")
                let scale = try number(UInt8.self, stops: ["*"])
                guard scale.nonzeroBitCount == 1 else {
                    throw fail("shift scale \(scale) is not a power of two")
                }
                instruction.aux = UInt8(scale.trailingZeroBitCount)
                try expect("*(")
                let base = instruction.base
                try load(into: &instruction)
                guard instruction.base == base else {
                    throw fail("a shift loads from the register it adds to")
                }
                try expect(")")
                return instruction
            case "test", "testnot", "test*", "testnot*":
                var instruction = Instruction(mnemonic.hasPrefix("testnot") ? .testNot : .test)
                if mnemonic.hasSuffix("*") { instruction.aux = Instruction.boundsProven }
                try load(into: &instruction)
                let symbol = word()
                guard let relation = Instruction.Relation.allCases.first(where: { $0.symbol == symbol })
                else {
                    throw fail("'\(symbol)' is not a relation")
                }
                instruction.relation = relation
                instruction.value = try number(UInt32.self)
                try expect("else")
                instruction.target = try target()
                return instruction
            case "dispatch", "dispatch*":
                var instruction = Instruction(.dispatch)
                if mnemonic.hasSuffix("*") { instruction.aux = Instruction.boundsProven }
                try load(into: &instruction)
                try expect("table")
                instruction.value = try number(UInt32.self)
                try expect("else")
                instruction.target = try target()
                return instruction
            case "accept":
                try expect("#")
                return Instruction(.accept, value: try number(UInt32.self))
            case "jump":
                return Instruction(.jump, target: try target())
            case "check":
                var instruction = Instruction(.check)
                skipSpaces()
                if text[position...].hasPrefix("r") {
                    instruction.base = try register()
                    try expect("+")
                }
                instruction.value = try number(UInt32.self)
                try expect("else")
                instruction.target = try target()
                return instruction
            case "halt":
                return Instruction(.halt)
            default:
                throw fail("unknown instruction '\(mnemonic)'")
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" {
            result = result.dropFirst()
        }
        while let last = result.last, last == " " || last == "\t" || last == "\r" {
            result = result.dropLast()
        }
        return result
    }
}
