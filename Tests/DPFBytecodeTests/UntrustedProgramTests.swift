import DPFBytecode
import DPFTestSupport
import Testing

/// Programs from outside (a `.dpfc` file someone else wrote, or a corrupted one): whatever passes
/// `ProgramFile.decode` and `Verifier.verify` must load and run, and nothing in between may trap.
@Suite struct UntrustedProgramTests {
    /// The 76-byte file of issue 9: a halt and one direct table that no dispatch reads, whose only
    /// entry jumps to 0x08000000. Scaled to a step offset (32 bytes a step) the target overflowed
    /// 32 bits, so `Interpreter.init` trapped on a program the verifier had accepted.
    static let unreferencedTable = Program(
        instructions: [Instruction(.halt)],
        tables: [DispatchTable(layout: .direct, keys: [], targets: [0x0800_0000], parameter: 0)])

    @Test func anUnreferencedTableJumpingOutOfTheProgramIsRefused() throws {
        let bytes = ProgramFile.encode(UntrustedProgramTests.unreferencedTable)
        #expect(bytes.count == 76)
        // The checksum is valid: decoding accepts the file, only the verifier can refuse it.
        let decoded = try ProgramFile.decode(bytes)
        #expect(decoded == UntrustedProgramTests.unreferencedTable)
        let error = try #require(throws: VerifierError.self) { try Verifier.verify(decoded) }
        #expect(error.kind == .targetOutOfRange)
        #expect(error.instruction == -1)
        #expect(error.message == "table 0: key 0x0 jumps to 134217728, outside the program's 1 instructions")
    }

    /// Every table is checked whether or not a dispatch reads it: code targets inside the program,
    /// terminal entries naming filters that exist, and the layout rules.
    static let unreferencedRejections: [(VerifierError.Kind, String, DispatchTable)] = [
        (
            .targetOutOfRange, "table 0: key 0x5 jumps to 1, outside",
            DispatchTable(layout: .direct, keys: [], targets: [1], parameter: 5)
        ),
        (
            .targetOutOfRange, "table 0: key 0x800 jumps to 2147483647, outside",
            DispatchTable.build([(0x0800, 0x7FFF_FFFF), (0x9000, 0)])
        ),
        (
            .badAccept, "table 0 accepts filter 7, which does not exist",
            DispatchTable.build([
                (0x0800, DispatchTable.terminalBit | 7), (0x86DD, DispatchTable.terminalBit | 7),
            ])
        ),
        (
            .badTable, "table 0: capacity 3 is not a power of two",
            DispatchTable(layout: .probing, keys: [0, 0, 0], targets: [.max, .max, .max], parameter: 0)
        ),
    ]

    @Test func unreferencedTablesAreHeldToEveryRule() throws {
        for (kind, fragment, table) in UntrustedProgramTests.unreferencedRejections {
            let program = Program(instructions: [Instruction(.halt)], tables: [table])
            let decoded = try ProgramFile.decode(ProgramFile.encode(program))
            do {
                _ = try Verifier.verify(decoded)
                Issue.record("accepted an unreferenced table that breaks \(kind) (\(fragment))")
            } catch {
                #expect(error.kind == kind, "\(fragment): \(error)")
                #expect(error.message.contains(fragment), "\(kind): \(error)")
            }
        }
    }
}
