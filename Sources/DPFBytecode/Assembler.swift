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
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.withoutComment().trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var cursor = Cursor(text: line, line: number + 1)
            try cursor.statement(into: &program)
        }
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

        /// A string as `Disassembler.quote` writes it: `\n` and `\r` are a line feed and a carriage
        /// return, and a backslash takes any other character literally (`\"`, `\\`).
        mutating func quoted() throws(AssemblerError) -> String {
            try expect("\"")
            var result = ""
            while position < text.endIndex, text[position] != "\"" {
                var escaped = false
                if text[position] == "\\" {
                    escaped = true
                    position = text.index(after: position)
                }
                guard position < text.endIndex else { break }
                switch (escaped, text[position]) {
                case (true, "n"): result.append("\n")
                case (true, "r"): result.append("\r")
                case (_, let character): result.append(character)
                }
                position = text.index(after: position)
            }
            try expect("\"")
            return result
        }

        mutating func register() throws(AssemblerError) -> UInt8 {
            try expect("r")
            return try number(UInt8.self, stops: [" ", "+", ")"])
        }

        /// The base register of an optional `rN+` prefix, as in `u16[r1+16]` or `check r1+18`; nil
        /// when absent (the packet start).
        mutating func basePrefix() throws(AssemblerError) -> UInt8? {
            skipSpaces()
            guard text[position...].hasPrefix("r") else { return nil }
            let base = try register()
            try expect("+")
            return base
        }

        /// `u16[r1+16] & 0xfff` into the instruction's width, base, offset and mask.
        mutating func load(into instruction: inout Instruction) throws(AssemblerError) {
            try expect("u")
            let bits = try number(UInt8.self, stops: ["["])
            guard [8, 16, 32].contains(bits) else { throw fail("load width u\(bits) is not u8, u16 or u32") }
            instruction.width = bits / 8
            try expect("[")
            if let base = try basePrefix() { instruction.base = base }
            instruction.offset = try number(UInt16.self)
            try expect("]")
            instruction.mask = bits == 32 ? .max : (1 << UInt32(bits)) - 1
            if accepts("&") { instruction.mask = try number(UInt32.self, stops: [")"]) }
        }

        mutating func target() throws(AssemblerError) -> UInt32 { try number(UInt32.self) }

        mutating func statement(into program: inout Program) throws(AssemblerError) {
            let keyword = word(stops: [":"])
            switch keyword {
            case "program":
                try expect("registers")
                program.registerCount = Int(try number(UInt8.self))
                try expect("link")
                program.linkType = try number(UInt32.self)
            case "filter":
                let index = Int(try number(UInt32.self))
                guard index == program.filters.count else { throw fail("filter \(index) out of order") }
                // The id may be left out in hand-written programs; it is then the filter's number.
                let id = accepts("id") ? try number(UInt32.self) : UInt32(index)
                let name = try quoted()
                try expect("app")
                let app = try quoted()
                try expect("priority")
                let priority = try number(UInt16.self)
                program.filters.append(
                    ProgramFilter(id: id, name: name, app: app, priority: priority, isTap: accepts("tap")))
            case "table":
                try table(into: &program)
            case "slot":
                guard let table = program.tables.last, table.isHashed else {
                    throw fail("slot outside a hashed table")
                }
                let slot = Int(try number(UInt32.self))
                guard slot < table.capacity else { throw fail("slot \(slot) outside the table") }
                try expect(":")
                let key = try number(UInt32.self)
                program.tables[program.tables.count - 1].keys[slot] = key
                program.tables[program.tables.count - 1].targets[slot] = try entryTarget()
            case _ where keyword.hasPrefix("0x"):
                guard let table = program.tables.last, !table.isHashed else {
                    throw fail("a key entry outside a direct table")
                }
                guard let key = UInt32(keyword.dropFirst(2), radix: 16), key >= table.firstKey,
                    Int(key - table.firstKey) < table.capacity
                else {
                    throw fail("key \(keyword) outside the direct table")
                }
                program.tables[program.tables.count - 1].targets[Int(key - table.firstKey)] =
                    try entryTarget()
            default:
                guard let index = Int(keyword), index == program.instructions.count else {
                    throw fail(
                        "expected an instruction numbered \(program.instructions.count), found '\(keyword)'")
                }
                program.instructions.append(try instruction())
            }
        }

        /// `table 3: direct, 12 slots from 0x400` or `table 0: collision-free, 4 slots, multiplier 0x9e37...`.
        mutating func table(into program: inout Program) throws(AssemblerError) {
            let index = Int(try number(UInt32.self))
            guard index == program.tables.count else { throw fail("table \(index) out of order") }
            try expect(":")
            let kind = word(stops: [","])
            try expect(",")
            let capacity = Int(try number(UInt32.self))
            guard (1...(1 << 24)).contains(capacity) else {
                throw fail("table capacity \(capacity) out of range")
            }
            try expect("slots")
            switch kind {
            case "direct":
                try expect("from")
                program.tables.append(
                    DispatchTable(
                        layout: .direct, keys: [],
                        targets: Array(repeating: DispatchTable.empty, count: capacity),
                        parameter: UInt64(try number(UInt32.self))))
            case "collision-free", "probing":
                try expect(",")
                try expect("multiplier")
                program.tables.append(
                    DispatchTable(
                        layout: kind == "probing" ? .probing : .collisionFree,
                        keys: Array(repeating: 0, count: capacity),
                        targets: Array(repeating: DispatchTable.empty, count: capacity),
                        parameter: try number(UInt64.self)))
            default:
                throw fail("expected 'direct', 'collision-free' or 'probing', found '\(kind)'")
            }
        }

        /// `-> 0012` or `-> accept #3`.
        mutating func entryTarget() throws(AssemblerError) -> UInt32 {
            try expect("->")
            guard accepts("accept") else { return try target() }
            try expect("#")
            let filter = try number(UInt32.self)
            guard filter < DispatchTable.terminalBit else { throw fail("filter #\(filter) out of range") }
            return DispatchTable.terminalBit | filter
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
                if accepts("specificity") { instruction.specificity = try number(UInt32.self) }
                try expect("else")
                instruction.target = try target()
                return instruction
            case "accept":
                try expect("specificity")
                let specificity = try number(UInt32.self)
                try expect("#")
                return Instruction(.accept, value: try number(UInt32.self), specificity: specificity)
            case "jump":
                return Instruction(.jump, target: try target())
            case "check":
                var instruction = Instruction(.check)
                if let base = try basePrefix() { instruction.base = base }
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
    /// The line up to a `//` comment. Inside a quoted string (where a backslash escapes the next
    /// character) `//` is text, as in a filter named `a//b`.
    fileprivate func withoutComment() -> Substring {
        var quoted = false
        var index = startIndex
        while index < endIndex {
            var next = self.index(after: index)
            switch self[index] {
            case "\"":
                quoted.toggle()
            case "\\" where quoted && next < endIndex:
                next = self.index(after: next)
            case "/" where !quoted && next < endIndex && self[next] == "/":
                return self[startIndex..<index]
            default:
                break
            }
            index = next
        }
        return self
    }

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
