import DPFBytecode
import DPFWire
import FuzzSupport

/// `.dpfc` bytes → `ProgramFile.decode` → `Verifier.verify` → `Interpreter`, run over fixed
/// packets; every decoded program is also printed and its listing read back, verified or not.
/// An input that starts with the magic "DPFC" is a file: its checksum is recomputed first, so
/// mutations reach past it (the checksum check itself is covered by the tests). Any other input
/// is a tape from which `ProgramGenerator` draws a small program field by field (instructions,
/// tables referenced or not, filters, counts), written to a file and read back the same way: byte
/// mutations of a file rarely make two coordinated changes, field choices do. Refusals are
/// fine; a crash is a finding.
@_cdecl("FuzzProgramFile_main")
public func fuzzProgramFileMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    LibFuzzer.run(argc, argv) { data, size in
        let input = LibFuzzer.bytes(data, size)
        var generator = ProgramGenerator(Tape(input))
        let bytes =
            input.starts(with: ProgramFile.magic)
            ? ProgramFileFuzzing.resealed(input) : ProgramFile.encode(generator.program())
        guard let program = try? ProgramFile.decode(bytes) else { return 0 }
        let listing = Disassembler.disassemble(program)
        _ = try? Assembler.assemble(listing)
        guard let verified = try? Verifier.verify(program) else { return 0 }
        Pipeline.run(Interpreter(verified), over: FixedPackets.all)
        return 0
    }
}

enum ProgramFileFuzzing {
    /// `bytes` with the header's CRC-32 (bytes 28..<32) set to that of every other byte.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 32 else { return bytes }
        var bytes = bytes
        var crc = ~UInt32(0)
        for byte in bytes[0..<28] + bytes[32...] {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        for index in 0..<4 { bytes[28 + index] = UInt8(truncatingIfNeeded: ~crc >> (8 * index)) }
        return bytes
    }

    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }
}

/// A small program drawn from the tape, one field at a time: mostly plausible values (widths 1,
/// 2 and 4, forward targets, existing tables and filters) and sometimes anything at all.
struct ProgramGenerator {
    var tape: Tape

    init(_ tape: Tape) { self.tape = tape }

    mutating func small(_ below: Int) -> UInt32 { tape.chance(85) ? UInt32(tape.below(below)) : tape.u32() }

    mutating func program() -> Program {
        let registerCount = tape.chance(90) ? 1 + tape.below(3) : Int(tape.u32())
        let count = 1 + tape.below(12)
        var instructions: [Instruction] = []
        for index in 0..<count {
            let opcode = Instruction.Opcode(rawValue: 1 + tape.byte() % 8)!
            instructions.append(
                Instruction(
                    opcode, width: tape.chance(90) ? tape.pick([1, 2, 4]) : tape.byte(),
                    relation: Instruction.Relation(rawValue: tape.byte() % 6)!,
                    base: tape.chance(90) ? tape.byte() % 3 : tape.byte(),
                    register: tape.chance(90) ? tape.byte() % 4 : tape.byte(),
                    aux: tape.chance(90) ? tape.byte() % 5 : tape.byte(),
                    offset: tape.chance(85) ? UInt16(tape.below(64)) : tape.u16(),
                    mask: tape.pick([0xFF, 0xFFFF, .max, 0x0F, 0, tape.u32()]), value: small(8),
                    target: tape.chance(85) ? UInt32(index + 1 + tape.below(4)) : tape.u32(),
                    specificity: tape.chance(90) ? UInt32(tape.byte()) : tape.u32()))
        }
        if tape.chance(90) { instructions.append(Instruction(.halt)) }
        let tables = (0..<tape.below(4)).map { _ in table(instructions: instructions.count) }
        let filters = (0..<tape.below(4)).map {
            ProgramFilter(
                id: UInt32($0), name: "f\($0)", app: "a", priority: UInt16(tape.byte()), isTap: tape.chance(30))
        }
        return Program(
            instructions: instructions, tables: tables, filters: filters, registerCount: registerCount,
            linkType: 1)
    }

    mutating func table(instructions: Int) -> DispatchTable {
        let target = { (generator: inout ProgramGenerator) -> UInt32 in
            switch generator.tape.below(4) {
            case 0: return DispatchTable.empty
            case 1: return DispatchTable.terminalBit | generator.small(4)
            case 2:
                return generator.tape.chance(80)
                    ? UInt32(generator.tape.below(instructions + 2)) : generator.tape.u32()
            default: return generator.tape.u32()
            }
        }
        if tape.chance(50) {
            let keys = (0..<(1 + tape.below(6))).map { _ in small(16) }
            var entries: [(key: UInt32, target: UInt32)] = []
            for key in Set(keys).sorted() { entries.append((key, target(&self))) }
            return DispatchTable.build(entries)
        }
        let layout = DispatchTable.Layout(rawValue: tape.byte() % 3)!
        let capacity = tape.pick([1, 2, 4, 8, 3])
        return DispatchTable(
            layout: layout, keys: layout == .direct ? [] : (0..<capacity).map { _ in small(16) },
            targets: (0..<capacity).map { _ in target(&self) },
            parameter: tape.chance(50) ? UInt64(small(16)) : UInt64(tape.u32()) << 32 | UInt64(tape.u32()))
    }
}
