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
