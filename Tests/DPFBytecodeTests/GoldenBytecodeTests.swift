import DPFAnalysis
import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFTrie
import Foundation
import Testing

/// The example filters' program, against its expected disassembly (`DPF_UPDATE_GOLDEN=1` rewrites
/// it; review the diff), and run over hand-built packets.
@Suite struct GoldenBytecodeTests {
    static func examples() throws -> DecisionTrie {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }
        .sorted()
        let files = try names.map { name in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Fixtures.filtersDirectory)/\(name)"))
            return try Parser.parseFile(SourceFile(name: "filters/\(name)", bytes: Array(bytes)))
        }
        return TrieBuilder.build(try SemanticAnalyzer.analyze(files).filterSet).trie
    }

    @Test func examplesDisassembleToTheGoldenText() throws {
        let program = try Lowering.lower(try GoldenBytecodeTests.examples())
        _ = try Verifier.verify(program)
        let text = Disassembler.disassemble(program)
        try Fixtures.expectGolden(text, at: "Tests/DPFBytecodeTests/Golden/examples.bytecode")
    }

    @Test func noJumpGoesToTheNextInstructionOrToAJump() throws {
        let program = try Lowering.lower(try GoldenBytecodeTests.examples())
        for (index, instruction) in program.instructions.enumerated() where instruction.opcode == .jump {
            #expect(instruction.target != UInt32(index + 1))
            #expect(program.instructions[Int(instruction.target)].opcode != .jump)
        }
    }
}
