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
            filters: names.map { ProgramFilter(name: $0, app: "app " + $0, priority: 1) }, registerCount: 2)
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

/// Hand-written programs, packets and the verdicts they must give, run on every bytecode engine
/// (the interpreter now; the native code generator will join the list).
@Suite struct VirtualMachineTableTests {
    static let ip4TCP80 = PacketBuilder.ethernet().ipv4(
        src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2)
    )
    .tcp(sourcePort: 1, destinationPort: 80).bytes
    static let ip4Options53 = PacketBuilder.ethernet().ipv4(
        src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2), options: [1, 1, 1, 1]
    )
    .udp(sourcePort: 1, destinationPort: 53).bytes
    static let arp = PacketBuilder.ethernet().arp(
        senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 2)
    ).bytes

    static let header = """
        program registers 3 link 1
        filter 0 "web" app "web" priority 0
        filter 1 "dns" app "dns" priority 0
        filter 2 "mon" app "mon" priority 0 tap
        filter 3 "vip" app "vip" priority 7

        """

    /// Port 80 to filter 0 and port 53 to filter 1, laid out by the table builder (a hand-placed
    /// layout must still put every key where probing from its home slot finds it).
    static let portTable: String = {
        let table = DispatchTable.build([
            (0x50, DispatchTable.terminalBit | 0), (0x35, DispatchTable.terminalBit | 1),
        ])
        var lines = [
            "table 0: collision-free, \(table.capacity) slots, multiplier 0x\(String(table.multiplier, radix: 16))"
        ]
        for slot in 0..<table.capacity where table.targets[slot] != DispatchTable.empty {
            lines.append(
                "  slot \(slot): 0x\(String(table.keys[slot], radix: 16)) -> accept #\(table.targets[slot] & ~DispatchTable.terminalBit)"
            )
        }
        return lines.joined(separator: "\n")
    }()

    static let portProgram = """
        0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
        0001  test     u16[12] == 0x800 else 0004
        0002  accept   specificity 16 #2
        0003  dispatch u16[r1+16] table 0 specificity 53 else 0004
        0004  halt

        """

    /// (name, program body, packet, owner filter, tap filters)
    static let cases: [(String, String, [UInt8], UInt32?, [UInt32])] = [
        ("port dispatch through the IPv4 header-length register", portProgram + portTable, ip4TCP80, 0, [2]),
        ("the same program on a header with options", portProgram + portTable, ip4Options53, 1, [2]),
        (
            "a direct table: the slot is the key minus the first key",
            portProgram + """
                table 0: direct, 3 slots from 0x4f
                  0x50 -> accept #0
                  0x51 -> accept #1
                """, ip4TCP80, 0, [2]
        ),
        (
            "a probing table: every key homes to slot 0 and is found by probing",
            portProgram + """
                table 0: probing, 4 slots, multiplier 0x0
                  slot 0: 0x50 -> accept #0
                  slot 1: 0x35 -> accept #1
                  slot 2: 0x16 -> accept #3
                """, ip4Options53, 1, [2]
        ),
        (
            "negated test: everything that is not IPv4",
            """
            0000  testnot  u16[12] == 0x800 else 0002
            0001  accept   specificity 16 #2
            0002  halt
            """, arp, nil, [2]
        ),
        (
            "a load past the packet fails a test and passes a negated one",
            """
            0000  test     u8[2000] == 0x0 else 0002
            0001  accept   specificity 8 #0
            0002  testnot  u8[2000] == 0x0 else 0004
            0003  accept   specificity 8 #1
            0004  halt
            """, arp, 1, []
        ),
        (
            "between equal priorities the more specific match wins",
            """
            0000  test     u16[12] >= 0x800 else 0002
            0001  accept   specificity 16 #0
            0002  test     u16[12] <= 0x806 else 0004
            0003  accept   specificity 32 #1
            0004  halt
            """, arp, 1, []
        ),
        (
            "priority beats specificity",
            """
            0000  accept   specificity 100 #0
            0001  accept   specificity 1 #3
            0002  accept   specificity 200 #1
            0003  halt
            """, arp, 3, []
        ),
        (
            "a full tie goes to the filter installed first",
            """
            0000  accept   specificity 5 #1
            0001  accept   specificity 5 #0
            0002  halt
            """, arp, 0, []
        ),
        (
            "a tap matched twice gets one copy",
            """
            0000  accept   specificity 5 #2
            0001  accept   specificity 9 #2
            0002  halt
            """, arp, nil, [2]
        ),
        (
            "relations at the edges of their range",
            """
            0000  test     u8[12] < 0x0 else 0002
            0001  accept   specificity 1 #0
            0002  test     u16[12] != 0x806 else 0004
            0003  accept   specificity 1 #1
            0004  test     u32[10] > 0xffffffff else 0006
            0005  accept   specificity 1 #3
            0006  test     u16[12] > 0x805 else 0008
            0007  accept   specificity 1 #2
            0008  testnot  u16[12] != 0x806 else 0010
            0009  accept   specificity 1 #1
            0010  halt
            """, arp, 1, [2]
        ),
        (
            "proven loads through a register and at a fixed offset",
            """
            0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
            0001  check    r1+18 else 0006
            0002  test*    u16[r1+16] == 0x50 else 0006
            0003  check    14 else 0006
            0004  test*    u16[12] == 0x800 else 0006
            0005  accept   specificity 32 #0
            0006  halt
            """, ip4TCP80, 0, []
        ),
        (
            "a failed check skips the loads it proves",
            """
            0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
            0001  check    r1+18 else 0004
            0002  test*    u16[r1+16] == 0x50 else 0004
            0003  accept   specificity 16 #0
            0004  halt
            """, Array(ip4TCP80.prefix(37)), nil, []
        ),
        (
            "16- and 32-bit shifts, one based on the other",
            """
            0000  shift    r1 = r0 + 2*(u16[12] & 0x7)
            0001  shift    r2 = r1 + 1*(u32[r1+4] & 0xff)
            0002  test     u16[r2+0] == 0x800 else 0004
            0003  accept   specificity 16 #1
            0004  halt
            """, arp, 1, []
        ),
        (
            "a shift whose load runs off the packet makes its register unreadable",
            """
            0000  shift    r1 = r0 + 1*(u32[40] & 0xff)
            0001  testnot  u8[r1+0] == 0x0 else 0003
            0002  accept   specificity 8 #1
            0003  halt
            """, arp, 1, []
        ),
    ]

    @Test(arguments: cases.indices)
    func interpreterGivesTheTabledVerdict(index: Int) throws {
        let (name, body, packet, owner, taps) = VirtualMachineTableTests.cases[index]
        let program = try Assembler.assemble(VirtualMachineTableTests.header + body)
        let interpreter = Interpreter(try Verifier.verify(program))
        let result = interpreter.run(packet)
        #expect(result.owner == owner, "\(name)")
        #expect(result.taps == taps, "\(name)")
    }
}
