import DPFBytecode
import DPFCompiler
import DPFTestSupport
import DPFTrie
import Testing

@Suite struct ProgramFileTests {
    static func program() throws -> Program {
        let trie = DecisionTrie()
        for entry in try RandomFilterSets.make(seed: 41, count: 60) {
            _ = try? trie.insert(
                name: entry.name, app: entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree)
        }
        return try Lowering.lower(trie)
    }

    @Test func encodingRoundTrips() throws {
        let program = try ProgramFileTests.program()
        let bytes = ProgramFile.encode(program)
        #expect(Array(bytes.prefix(4)) == Array("DPFC".utf8))
        #expect(try ProgramFile.decode(bytes) == program)
    }

    @Test func everyTruncationIsRefused() throws {
        let bytes = ProgramFile.encode(try ProgramFileTests.program())
        for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)) {
            #expect(throws: ProgramFileError.self) { try ProgramFile.decode(Array(bytes.prefix(length))) }
        }
        let error = try #require(throws: ProgramFileError.self) {
            try ProgramFile.decode(Array(bytes.prefix(20)))
        }
        #expect(error.message == "the file ends in the header, at byte 20 of at least 24")
    }

    /// `bytes` with the header's u32 at `offset` set to `value` and the checksum made to match, as
    /// a crafted file would be.
    static func resealed(_ bytes: [UInt8], settingU32At offset: Int, to value: UInt32) -> [UInt8] {
        var bytes = bytes
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        var crc = ~UInt32(0)
        for byte in bytes[0..<28] + bytes[32...] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        for index in 0..<4 { bytes[28 + index] = UInt8(truncatingIfNeeded: ~crc >> (8 * index)) }
        return bytes
    }

    @Test func countsTheFileCannotHoldAreRefused() throws {
        let program = try ProgramFileTests.program()
        let bytes = ProgramFile.encode(program)
        // The checksum is the reseal's own: only the counts are wrong.
        #expect(
            try ProgramFile.decode(
                ProgramFileTests.resealed(bytes, settingU32At: 16, to: UInt32(program.instructions.count)))
                == program)
        // A count no file of this size could hold is refused before any element is read.
        let huge = UInt32(bytes.count / 4 + 1)
        let early = try #require(throws: ProgramFileError.self) {
            try ProgramFile.decode(ProgramFileTests.resealed(bytes, settingU32At: 16, to: huge))
        }
        #expect(
            early.message
                == "the header claims \(huge) instructions, more than a file of \(bytes.count) bytes holds")
        // A plausible count that is still too large runs into the end of the file, which says where.
        let filters = program.filters.count
        let late = try #require(throws: ProgramFileError.self) {
            try ProgramFile.decode(
                ProgramFileTests.resealed(bytes, settingU32At: 24, to: UInt32(filters + 1)))
        }
        #expect(
            late.message
                == "the file ends in filter \(filters), at byte \(bytes.count) of at least \(bytes.count + 4)"
        )
    }

    @Test func alteredBytesAreRefused() throws {
        let bytes = ProgramFile.encode(try ProgramFileTests.program())
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<300 {
            var altered = bytes
            let index = Int.random(in: 0..<altered.count, using: &generator)
            altered[index] ^= UInt8.random(in: 1...255, using: &generator)
            #expect(throws: ProgramFileError.self) { try ProgramFile.decode(altered) }
        }
        var badMagic = bytes
        badMagic[0] = UInt8(ascii: "X")
        let error = try #require(throws: ProgramFileError.self) { try ProgramFile.decode(badMagic) }
        #expect(error.message == "not a DPF program: the file does not start with \"DPFC\"")
    }
}
