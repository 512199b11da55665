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

    @Test(arguments: [
        ("0000  fly", "line 2: unknown instruction 'fly'"),
        ("0001  halt", "line 2: expected an instruction numbered 0, found '0001'"),
        ("0000  test u24[0] == 0x1 else 0001", "line 2: load width u24 is not u8, u16 or u32"),
        ("0000  test u8[0] ~ 0x1 else 0001", "line 2: '~' is not a relation"),
        ("accept 1: filter 0 priority 0 specificity 0 sequence 0", "line 2: accept 1 out of order"),
        ("  slot 0: 0x1 -> 0001", "line 2: slot outside a table"),
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
        program registers 2 link 1
        filter 0 "web" app "web"
        filter 1 "dns" app "dns"
        filter 2 "mon" app "mon"
        accept 0: filter 0 priority 0 specificity 53 sequence 0
        accept 1: filter 1 priority 0 specificity 53 sequence 1
        accept 2: filter 2 tap priority 0 specificity 16 sequence 2

        """

    /// Port 80 to accept 0 and port 53 to accept 1, laid out by the table builder (a hand-placed
    /// layout must still put every key where probing from its home slot finds it).
    static let portTable: String = {
        let table = DispatchTable.build([
            (0x50, DispatchTable.terminalBit | 0), (0x35, DispatchTable.terminalBit | 1),
        ])
        var lines = [
            "table 0: \(table.capacity) slots, multiplier 0x\(String(table.multiplier, radix: 16)), collision-free"
        ]
        for slot in 0..<table.capacity where table.targets[slot] != DispatchTable.empty {
            lines.append(
                "  slot \(slot): 0x\(String(table.keys[slot], radix: 16)) -> accept #\(table.targets[slot] & ~DispatchTable.terminalBit)"
            )
        }
        return lines.joined(separator: "\n")
    }()

    /// (name, program body, packet, owner filter, tap filters)
    static let cases: [(String, String, [UInt8], UInt32?, [UInt32])] = [
        (
            "port dispatch through the IPv4 header-length register",
            """
            0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
            0001  test     u16[12] == 0x800 else 0004
            0002  accept   #2
            0003  dispatch u16[r1+16] table 0 else 0004
            0004  halt

            """ + portTable, ip4TCP80, 0, [2]
        ),
        (
            "the same program on a header with options",
            """
            0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
            0001  test     u16[12] == 0x800 else 0004
            0002  accept   #2
            0003  dispatch u16[r1+16] table 0 else 0004
            0004  halt

            """ + portTable, ip4Options53, 1, [2]
        ),
        (
            "negated test: everything that is not IPv4",
            """
            0000  testnot  u16[12] == 0x800 else 0002
            0001  accept   #2
            0002  halt
            """, arp, nil, [2]
        ),
        (
            "a load past the packet fails a test and passes a negated one",
            """
            0000  test     u8[2000] == 0x0 else 0002
            0001  accept   #0
            0002  testnot  u8[2000] == 0x0 else 0004
            0003  accept   #1
            0004  halt
            """, arp, 1, []
        ),
        (
            "ranges and the higher priority of two matches",
            """
            0000  test     u16[12] >= 0x800 else 0002
            0001  accept   #0
            0002  test     u16[12] <= 0x806 else 0004
            0003  accept   #1
            0004  halt
            """, arp, 0, []
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
