import DPFBytecode
import DPFWire
import FuzzSupport

/// `.dpfc` bytes → `ProgramFile.decode` → `Verifier.verify` → `Interpreter`, run over fixed
/// packets; every decoded program is also printed and its listing read back, verified or not.
/// The checksum is recomputed over the input first, so mutations reach past it (the checksum
/// check itself is covered by the tests). Refusals are fine; a crash is a finding.
@_cdecl("FuzzProgramFile_main")
public func fuzzProgramFileMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    LibFuzzer.run(argc, argv) { data, size in
        let bytes = ProgramFileFuzzing.resealed(LibFuzzer.bytes(data, size))
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
