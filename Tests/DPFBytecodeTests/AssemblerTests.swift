import DPFBytecode
import DPFCompiler
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

@Suite struct AssemblerTests {
    @Test(arguments: [51, 52, 53] as [UInt64])
    func disassemblyAssemblesBackToTheSameProgram(seed: UInt64) throws {
        let trie = DecisionTrie()
        for entry in try RandomFilterSets.make(seed: seed, count: 150) {
            _ = try? trie.insert(
                name: entry.name, app: entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree)
        }
        let program = try Lowering.lower(trie)
        #expect(try Assembler.assemble(Disassembler.disassemble(program)) == program)
    }

    @Test func examplesRoundTrip() throws {
        let program = try Lowering.lower(try GoldenBytecodeTests.examples())
        #expect(try Assembler.assemble(Disassembler.disassemble(program)) == program)
    }

    /// Names are free text: `//` inside quotes is no comment, and line breaks, quotes and
    /// backslashes are escaped (also where a name is a comment after an accept).
    @Test func namesWithCommentsQuotesAndLineBreaksRoundTrip() throws {
        let names = [
            "a//b", "two\nlines", "say \"hi\" // not a comment", "back\\slash\\", "cr\rlf\r\n", "tab\tname",
            "",
        ]
        let program = Program(
            instructions: [
                Instruction(.shift, width: 1, base: 0, register: 1, aux: 2, offset: 14, mask: 0x0F),
                Instruction(.check, base: 1, value: 18, target: 5),
                Instruction(
                    .test, width: 2, base: 1, aux: Instruction.boundsProven, offset: 16, mask: 0xFFFF,
                    value: 80, target: 4),
                Instruction(.accept, value: 0, specificity: 32),
                Instruction(
                    .dispatch, width: 2, offset: 12, mask: 0xFFFF, value: 0, target: 5, specificity: 16),
                Instruction(.halt),
            ],
            tables: [
                DispatchTable.build(
                    names.indices.dropFirst().map { (UInt32($0), DispatchTable.terminalBit | UInt32($0)) })
            ],
            filters: names.enumerated().map {
                ProgramFilter(id: UInt32($0), name: $1, app: "app " + $1, priority: 1)
            }, registerCount: 2)
        _ = try Verifier.verify(program)
        let text = Disassembler.disassemble(program)
        #expect(try Assembler.assemble(text) == program, "\(text)")
    }

    @Test(arguments: [
        ("0000  fly", "line 2: unknown instruction 'fly'"),
        ("0001  halt", "line 2: expected an instruction numbered 0, found '0001'"),
        ("0000  test u24[0] == 0x1 else 0001", "line 2: load width u24 is not u8, u16 or u32"),
        ("0000  test u8[0] ~ 0x1 else 0001", "line 2: '~' is not a relation"),
        ("filter 1 \"a\" app \"a\" priority 0", "line 2: filter 1 out of order"),
        ("  slot 0: 0x1 -> 0001", "line 2: slot outside a hashed table"),
        ("  0x1 -> 0001", "line 2: a key entry outside a direct table"),
        (
            "table 0: sorted, 4 slots",
            "line 2: expected 'direct', 'collision-free' or 'probing', found 'sorted'"
        ),
        ("0000  accept #0", "line 2: expected 'specificity' at '#0'"),
    ])
    func reportsTheLineAndTheProblem(line: String, message: String) {
        do {
            _ = try Assembler.assemble("program registers 1 link 1\n" + line)
            Issue.record("assembled '\(line)'")
        } catch {
            #expect(error.description == message)
        }
    }
}
