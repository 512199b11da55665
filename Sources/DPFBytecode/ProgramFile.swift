import DPFWire

/// Why a `.dpfc` file was refused.
public struct ProgramFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The binary form of a compiled program (`dpf compile -o OUT.dpfc`), little-endian:
///
///     header   "DPFC", version u16, reserved u16, link type u32, registers u32,
///              instructions u32, tables u32, filters u32, then the CRC-32 of every
///              other byte of the file (header included)
///     code     24 bytes per instruction: opcode, width, relation, base, register, aux (u8 each),
///              offset u16, mask u32, value u32, target u32, specificity u32
///     tables   layout u32 (0 collision-free, 1 probing, 2 direct), slots u32, multiplier or first
///              key u64, then slots × (key u32, target u32) when hashed or slots × target u32 when direct
///     filters  per filter, in install order: id u32, priority u16, flags u16 (1 = tap), then name
///              and app, each a u16 length and UTF-8 bytes
///
/// Decoding checks the magic, version, every length against the bytes left, and the checksum,
/// so a truncated or altered file is refused; the result still has to pass the `Verifier`.
public enum ProgramFile {
    public static let magic: [UInt8] = Array("DPFC".utf8)
    public static let version: UInt16 = 3
    /// The layout word `encode` writes for a table the format cannot carry; no layout has it.
    static let unrepresentable: UInt32 = 0xFFFF_FFFF

    /// Writes any program without trapping; a program the format cannot carry is written so
    /// that it is still refused, never repaired into a different, valid one. Counts beyond 32 bits
    /// (a negative register count too) are clamped, and the verifier refuses every clamped value;
    /// a table whose keys do not match its layout (a hashed table without a key per slot, a direct
    /// one with keys) is written with layout `unrepresentable`, which `decode` refuses.
    public static func encode(_ program: Program) -> [UInt8] {
        var body = Writer()
        for instruction in program.instructions {
            body.u8(instruction.opcode.rawValue)
            body.u8(instruction.width)
            body.u8(instruction.relation.rawValue)
            body.u8(instruction.base)
            body.u8(instruction.register)
            body.u8(instruction.aux)
            body.u16(instruction.offset)
            body.u32(instruction.mask)
            body.u32(instruction.value)
            body.u32(instruction.target)
            body.u32(instruction.specificity)
        }
        for table in program.tables {
            let representable = table.keys.count == (table.isHashed ? table.capacity : 0)
            body.u32(representable ? UInt32(table.layout.rawValue) : unrepresentable)
            body.u32(UInt32(clamping: table.capacity))
            body.u64(table.parameter)
            for slot in 0..<table.capacity {
                if table.isHashed && representable { body.u32(table.keys[slot]) }
                body.u32(table.targets[slot])
            }
        }
        for filter in program.filters {
            body.u32(filter.id)
            body.u16(filter.priority)
            body.u16(filter.isTap ? 1 : 0)
            body.string(filter.name)
            body.string(filter.app)
        }
        var header = Writer()
        header.bytes += magic
        header.u16(version)
        header.u16(0)
        header.u32(program.linkType)
        header.u32(UInt32(clamping: program.registerCount))
        header.u32(UInt32(clamping: program.instructions.count))
        header.u32(UInt32(clamping: program.tables.count))
        header.u32(UInt32(clamping: program.filters.count))
        header.u32(CRC32.checksum(header.bytes + body.bytes))
        return header.bytes + body.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ProgramFileError) -> Program {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw ProgramFileError(message: "not a DPF program: the file does not start with \"DPFC\"")
        }
        reader.position = 4
        let version = try reader.u16("the header")
        guard version == ProgramFile.version else {
            throw ProgramFileError(
                message:
                    "unsupported program version \(version); this dpf reads version \(ProgramFile.version)")
        }
        _ = try reader.u16("the header")
        let linkType = try reader.u32("the header")
        let registers = try reader.u32("the header")
        let instructionCount = try reader.u32("the header")
        let tableCount = try reader.u32("the header")
        let filterCount = try reader.u32("the header")
        let checksum = try reader.u32("the header")
        guard CRC32.checksum(bytes[0..<(reader.position - 4)] + bytes[reader.position...]) == checksum else {
            throw ProgramFileError(message: "checksum mismatch: the program file is truncated or was altered")
        }
        // Every element takes at least 4 bytes, so a count above a quarter of the file size is
        // refused before anything is read for it.
        for (count, what) in [
            (instructionCount, "instructions"), (tableCount, "tables"), (filterCount, "filters"),
        ]
        where Int(count) > bytes.count / 4 {
            throw ProgramFileError(
                message: "the header claims \(count) \(what), more than a file of \(bytes.count) bytes holds")
        }
        var instructions: [Instruction] = []
        for index in 0..<Int(instructionCount) {
            let what = "instruction \(index)"
            let rawOpcode = try reader.u8(what)
            let width = try reader.u8(what)
            let rawRelation = try reader.u8(what)
            guard let opcode = Instruction.Opcode(rawValue: rawOpcode),
                let relation = Instruction.Relation(rawValue: rawRelation)
            else {
                throw ProgramFileError(
                    message:
                        "instruction \(index) has an unknown opcode \(rawOpcode) or relation \(rawRelation)")
            }
            instructions.append(
                Instruction(
                    opcode, width: width, relation: relation, base: try reader.u8(what),
                    register: try reader.u8(what),
                    aux: try reader.u8(what), offset: try reader.u16(what), mask: try reader.u32(what),
                    value: try reader.u32(what),
                    target: try reader.u32(what), specificity: try reader.u32(what)))
        }
        var tables: [DispatchTable] = []
        for index in 0..<Int(tableCount) {
            tables.append(try reader.table("table \(index)"))
        }
        var filters: [ProgramFilter] = []
        for index in 0..<Int(filterCount) {
            let what = "filter \(index)"
            let id = try reader.u32(what)
            let priority = try reader.u16(what)
            let flags = try reader.u16(what)
            guard flags <= 1 else { throw ProgramFileError(message: "\(what) has unknown flags \(flags)") }
            filters.append(
                ProgramFilter(
                    id: id, name: try reader.string("the name of \(what)"),
                    app: try reader.string("the app of \(what)"),
                    priority: priority, isTap: flags == 1))
        }
        guard reader.position == bytes.count else {
            throw ProgramFileError(
                message: "\(bytes.count - reader.position) unexpected bytes after the program")
        }
        return Program(
            instructions: instructions, tables: tables, filters: filters, registerCount: Int(registers),
            linkType: linkType)
    }

    struct Writer {
        var bytes: [UInt8] = []
        mutating func u8(_ value: UInt8) { bytes.append(value) }
        mutating func u16(_ value: UInt16) { ByteOrder.appendLittleEndian(value, to: &bytes) }
        mutating func u32(_ value: UInt32) { ByteOrder.appendLittleEndian(value, to: &bytes) }
        mutating func u64(_ value: UInt64) { ByteOrder.appendLittleEndian(value, to: &bytes) }
        mutating func string(_ text: String) {
            let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
            u16(UInt16(utf8.count))
            bytes += utf8
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func take(_ count: Int, _ what: String) throws(ProgramFileError) -> ArraySlice<UInt8> {
            guard count <= bytes.count - position else {
                throw ProgramFileError(
                    message:
                        "the file ends in \(what), at byte \(bytes.count) of at least \(position + count)")
            }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        mutating func little(_ count: Int, _ what: String) throws(ProgramFileError) -> UInt64 {
            try take(count, what).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func u8(_ what: String) throws(ProgramFileError) -> UInt8 { UInt8(try little(1, what)) }
        mutating func u16(_ what: String) throws(ProgramFileError) -> UInt16 { UInt16(try little(2, what)) }
        mutating func u32(_ what: String) throws(ProgramFileError) -> UInt32 { UInt32(try little(4, what)) }
        mutating func u64(_ what: String) throws(ProgramFileError) -> UInt64 { try little(8, what) }

        mutating func table(_ what: String) throws(ProgramFileError) -> DispatchTable {
            let rawLayout = try u32(what)
            guard let layout = DispatchTable.Layout(rawValue: UInt8(clamping: rawLayout)) else {
                throw ProgramFileError(message: "\(what) has an unknown layout \(rawLayout)")
            }
            let capacity = Int(try u32(what))
            let parameter = try u64(what)
            let slotSize = layout == .direct ? 4 : 8
            guard capacity <= (bytes.count - position) / slotSize else {
                throw ProgramFileError(message: "\(what) claims \(capacity) slots, more than the file holds")
            }
            var keys: [UInt32] = []
            var targets: [UInt32] = []
            for _ in 0..<capacity {
                if layout != .direct { keys.append(try u32(what)) }
                targets.append(try u32(what))
            }
            return DispatchTable(layout: layout, keys: keys, targets: targets, parameter: parameter)
        }

        mutating func string(_ what: String) throws(ProgramFileError) -> String {
            let length = Int(try u16(what))
            return String(decoding: try take(length, what), as: UTF8.self)
        }
    }
}

/// CRC-32 (IEEE 802.3, as in zlib and pcapng).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    static func checksum<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        ~bytes.reduce(~UInt32(0)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
}
