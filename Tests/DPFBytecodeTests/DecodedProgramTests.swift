import DPFBytecode
import DPFCompiler
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// The decoded layer: what a verified program decodes to (the form the interpreter runs and native
/// code shares), and that the interpreter built from it decides as the one built from the program.
@Suite struct DecodedProgramTests {
    static func decode(_ text: String) throws -> DecodedProgram {
        DecodedProgram(try Verifier.verify(try Assembler.assemble(text)))
    }

    static let size = UInt32(DecodedStep.size)

    /// Loads through a register and at fixed offsets, checked and proven, a test, a negated test,
    /// a pair dispatch, accept, jump, check and halt.
    static let straight = """
        program registers 2 link 1
        filter 0 id 7 "web" app "web" priority 3
        filter 1 id 9 "mon" app "mon" priority 0 tap
        filter 2 id 12 "dns" app "dns" priority 0
        0000  shift    r1 = r0 + 4*(u8[14] & 0xf)
        0001  test     u16[12] == 0x800 else 0009
        0002  check    r1+18 else 0009
        0003  test*    u16[r1+16] >= 0x50 else 0007
        0004  testnot  u8[23] != 0x6 else 0009
        0005  accept   specificity 40 #0
        0006  jump     0009
        0007  dispatch u16[r1+16] table 0 specificity 53 else 0009
        0008  accept   specificity 16 #1
        0009  halt
        table 0: direct, 2 slots from 0x35
          0x35 -> accept #2
          0x36 -> 0008

        """

    @Test func aStraightProgramDecodesToItsKindsAndTargets() throws {
        let decoded = try DecodedProgramTests.decode(DecodedProgramTests.straight)
        let steps = Array(decoded.steps)
        #expect(
            steps.map(\.kind) == [
                .shift1, .test2Absolute, .check, .test2Proven, .testNot1Absolute, .accept, .jump, .pair2,
                .accept,
                .halt,
            ])
        let size = DecodedProgramTests.size
        // Targets are byte offsets of steps; steps that never jump keep 0.
        #expect(steps.map(\.target) == [0, 9, 9, 7, 9, 0, 9, 9, 0, 0].map { $0 * size })
        #expect(decoded.step(at: steps[3].target).kind == .pair2)

        // shift: destination register in `operand`, scale in `span`.
        #expect(steps[0].operand == 1 && steps[0].span == 2 && steps[0].offset == 14 && steps[0].mask == 0xF)
        // Relations are ranges: == 0x800 is [0x800, 0x800]; >= 0x50 runs to the top; != is outside.
        #expect(steps[1].operand == 0x800 && steps[1].span == 0 && !steps[1].outside)
        #expect(steps[3].operand == 0x50 && steps[3].span == .max - 0x50 && steps[3].base == 1)
        #expect(steps[3].holds(0x50) && steps[3].holds(.max) && !steps[3].holds(0x4F))
        #expect(steps[4].outside && steps[4].holds(0x11) && !steps[4].holds(6))
        #expect(steps[2].operand == 18 && steps[2].base == 1)
        #expect(steps[5].operand == 0 && steps[5].specificity == 40)
        // A table of two entries is compared in place: keys in operand and span, targets in the
        // parameter's halves (a terminal entry keeps its filter, a code target becomes an offset).
        #expect(steps[7].operand == 0x35 && steps[7].span == 0x36 && steps[7].specificity == 53)
        #expect(steps[7].parameter == UInt64(8 * size) << 32 | UInt64(DispatchTable.terminalBit | 2))
        // Its slots are in the buffers all the same (every table is), unread.
        #expect(
            decoded.hashedSlots.isEmpty
                && Array(decoded.directTargets) == [DispatchTable.terminalBit | 2, 8 * size])

        // Filters: ids, apps and ranks (the tap ranks 0; numbers are install order).
        #expect(decoded.filterIDs == [7, 9, 12])
        #expect(decoded.apps == ["web", "mon", "dns"] && decoded.appOfFilter == [0, 1, 2])
        #expect(decoded.filterCount == 3 && decoded.registerCount == 2)
        #expect(
            Array(decoded.ranks) == [
                DeliveryKey.rank(priority: 3, order: 0), 0, DeliveryKey.rank(priority: 0, order: 2),
            ])
        for shape in decoded.steps.map(\.kind.shape) {
            #expect(DecodedStep.Kind(shape).shape == shape)
        }
    }

    /// The three table layouts of more than two entries decode to their own kinds, with their slots
    /// in the shared buffers at the offset the step names.
    @Test func tableLayoutsDecodeToTheirKindsAndBuffers() throws {
        let dense = DispatchTable.build((0..<5).map { (UInt32(100 + 2 * $0), DispatchTable.terminalBit | 0) })
        let sparse = DispatchTable.build([(0x0800, 4), (0x86DD, DispatchTable.terminalBit | 0), (0x0806, 4)])
        var generator = SeededGenerator(seed: 11)
        var keys: Set<UInt32> = []
        while keys.count < 600 { keys.insert(.random(in: 0...UInt32.max, using: &generator)) }
        let many = DispatchTable.build(keys.sorted().map { ($0, DispatchTable.terminalBit | 0) })
        #expect(dense.layout == .direct && sparse.layout == .collisionFree && many.layout == .probing)
        let program = Program(
            instructions: [
                Instruction(.check, value: 40, target: 4),
                Instruction(.dispatch, width: 1, offset: 23, mask: 0xFF, value: 0, target: 2),
                Instruction(
                    .dispatch, width: 2, aux: Instruction.boundsProven, offset: 12, mask: 0xFFFF, value: 1,
                    target: 3),
                Instruction(
                    .dispatch, width: 4, offset: 26, mask: .max, value: 2, target: 4, specificity: 32),
                Instruction(.halt),
            ],
            tables: [dense, sparse, many],
            filters: [ProgramFilter(id: 0, name: "f", app: "a")])
        let decoded = DecodedProgram(try Verifier.verify(program))
        let steps = Array(decoded.steps)
        #expect(steps.map(\.kind) == [.check, .direct1Absolute, .exact2AbsoluteProven, .probing, .halt])
        #expect(steps.map(\.target) == [4, 2, 3, 4, 0].map { $0 * DecodedProgramTests.size })
        #expect(steps[1].kind.shape == .load(.direct, .one, .absolute))
        #expect(steps[3].kind.shape.width == nil && steps[3].width == 4)

        // Direct: first key in the parameter, slot count in span, targets at `operand`.
        #expect(steps[1].parameter == 100 && steps[1].span == UInt32(dense.capacity))
        let direct = Array(decoded.directTargets)
        #expect(direct[Int(steps[1].operand)...] == dense.targets[...])
        // Hashed tables share one buffer, in table order; code targets become byte offsets.
        #expect(steps[2].operand == 0 && steps[3].operand == UInt32(sparse.capacity))
        #expect(decoded.hashedSlots.count == sparse.capacity + many.capacity)
        #expect(steps[2].parameter == sparse.multiplier && steps[2].span == UInt32(sparse.shift))
        for slot in 0..<sparse.capacity {
            let decodedSlot = decoded.hashedSlots[slot]
            #expect(decodedSlot.key == sparse.keys[slot])
            let target = sparse.targets[slot]
            #expect(
                decodedSlot.target
                    == (DispatchTable.isCodeTarget(target) ? target * DecodedProgramTests.size : target)
            )
        }
        #expect(decoded.step(at: 4 * DecodedProgramTests.size).kind == .halt)
    }

    /// The interpreter decides the same from a `DecodedProgram` as from the verified program, and a
    /// decoded program serves several interpreters.
    @Test func anInterpreterFromTheDecodedProgramGivesTheSameVerdicts() throws {
        let verified = try Verifier.verify(try Lowering.lower(try GoldenBytecodeTests.examples()))
        let decoded = DecodedProgram(verified)
        let fromProgram = Interpreter(verified)
        let fromDecoded = Interpreter(decoded)
        let another = Interpreter(decoded)
        #expect(fromDecoded.decoded === decoded && fromDecoded.filterCount == fromProgram.filterCount)
        var source = RandomPackets(seed: 0xDEC0)
        var owned = 0
        for packet in source.batch(400) {
            let expected = fromProgram.run(packet.bytes)
            #expect(fromDecoded.run(packet.bytes) == expected)
            #expect(another.run(packet.bytes) == expected)
            if expected.owner != nil { owned += 1 }
        }
        #expect(owned > 0, "the packets reach some filter")
    }

    /// Owners, taps and the delivery rank: a tap is ranked 0, and the best candidate is the
    /// highest priority, then specificity, then the earlier filter.
    @Test func deliveryRankOrdersCandidatesAsTheDeliveryKey() throws {
        let decoded = try DecodedProgramTests.decode(DecodedProgramTests.straight)
        let ranks = Array(decoded.ranks)
        #expect(ranks[1] == 0)
        let web = DeliveryRank.candidate(ranks[0], specificity: 40)
        let dns = DeliveryRank.candidate(ranks[2], specificity: 53)
        #expect(web == DeliveryKey(priority: 3, specificity: 40, order: 0).rawValue)
        #expect(max(web, dns) == web && DeliveryRank.owner(max(web, dns)) == 0)
        #expect(DeliveryRank.owner(dns) == 2 && DeliveryRank.owner(DeliveryRank.none) == -1)
        #expect(DeliveryRank.none == DeliveryKey.none.rawValue)
        // An earlier filter wins a full tie.
        let first = DeliveryRank.rank(filter: 4, ProgramFilter(id: 4, name: "a", app: "a", priority: 1))
        let later = DeliveryRank.rank(filter: 5, ProgramFilter(id: 5, name: "b", app: "a", priority: 1))
        #expect(DeliveryRank.owner(max(first, later)) == 4)
        #expect(DeliveryRank.rank(filter: 0, ProgramFilter(id: 0, name: "t", app: "a", isTap: true)) == 0)

        // The interpreter runs it: web owns IPv4/TCP to port 80 (not UDP), dns UDP to port 53
        // through the terminal entry, and port 0x36 reaches the tap.
        let interpreter = Interpreter(decoded)
        let ip = PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
        func packet(_ port: UInt16) -> [UInt8] { ip.udp(sourcePort: 1, destinationPort: port).bytes }
        #expect(interpreter.run(ip.tcp(sourcePort: 1, destinationPort: 80).bytes) == (0, []))
        #expect(interpreter.run(packet(80)) == (nil, []))
        #expect(interpreter.run(packet(0x35)) == (2, []))
        #expect(interpreter.run(packet(0x36)) == (nil, [1]))
        #expect(interpreter.run(packet(0x20)) == (nil, []))
    }
}
