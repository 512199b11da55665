import DPFBytecode
import DPFCompiler
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

/// The limits that keep verifying and loading a crafted program bounded.
@Suite struct VerifierLimitTests {
    @Test func tablesLargerThanTheLimitAreRefusedBeforeAnySlotIsRead() {
        let program = Program(
            instructions: [Instruction(.halt)],
            tables: [
                DispatchTable(
                    layout: .direct, keys: [],
                    targets: Array(repeating: DispatchTable.empty, count: Verifier.maximumTableSlots + 1),
                    parameter: 0)
            ])
        let error = #expect(throws: VerifierError.self) { try Verifier.verify(program) }
        #expect(error?.kind == .tooLarge)
        #expect(error?.message == "16777217 table slots, more than 16777216")
    }

    /// 4,097 dispatches sharing one table of 4,096 distinct targets: one edge past the limit, which
    /// would otherwise cost the load prover that many merges.
    @Test func dispatchEdgesPastTheLimitAreRefused() {
        let dispatches = 4097
        let targets = (0..<4096).map { UInt32(dispatches + $0) }
        var instructions = (0..<dispatches).map { _ in
            Instruction(.dispatch, width: 1, mask: 0xFF, value: 0, target: UInt32(dispatches))
        }
        instructions += Array(repeating: Instruction(.halt), count: targets.count + 1)
        let program = Program(
            instructions: instructions,
            tables: [DispatchTable(layout: .direct, keys: [], targets: targets, parameter: 0)])
        let error = #expect(throws: VerifierError.self) { try Verifier.verify(program) }
        #expect(error?.kind == .tooLarge)
        #expect(error?.instruction == 4096)
        // One dispatch fewer stays within the limit and verifies.
        var fewer = program
        fewer.instructions.removeFirst()
        fewer.instructions = fewer.instructions.map {
            var instruction = $0
            if instruction.opcode == .dispatch { instruction.target -= 1 }
            return instruction
        }
        fewer.tables[0].targets = targets.map { $0 - 1 }
        #expect((try? Verifier.verify(fewer)) != nil)
    }
}

/// Printing shows any program, verified or not: bad widths, huge offsets and scales, tables and
/// filters that do not exist, malformed tables, impossible counts. It may print nonsense for
/// nonsense, but it never traps.
@Suite struct DisassemblerRobustnessTests {
    static func arbitraryInstruction(_ generator: inout SeededGenerator) -> Instruction {
        func any<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type, _ likely: [T]) -> T {
            generator.chance(0.7) ? generator.pick(likely) : T.random(in: 0...T.max, using: &generator)
        }
        return Instruction(
            generator.pick(Instruction.Opcode.allCases), width: any(UInt8.self, [0, 1, 2, 3, 4, 5, 8, 255]),
            relation: generator.pick(Instruction.Relation.allCases),
            base: any(UInt8.self, [0, 1, 15, 16, 255]),
            register: any(UInt8.self, [0, 1, 16, 255]), aux: any(UInt8.self, [0, 1, 3, 4, 63, 64, 255]),
            offset: any(UInt16.self, [0, 12, 65532, 65535]),
            mask: any(UInt32.self, [0, 0xFF, 0xFFFF, .max]),
            value: any(UInt32.self, [0, 1, 2, 7, 0x8000_0000, .max]),
            target: any(UInt32.self, [0, 1, 3, 0x0800_0000, 0x7FFF_FFFF, 0x8000_0000, .max]),
            specificity: any(UInt32.self, [0, 0xFFFF, 0x1_0000, .max]))
    }

    static func arbitraryTable(_ generator: inout SeededGenerator) -> DispatchTable {
        let capacity = generator.pick([0, 1, 2, 3, 4, 8, 17])
        let keyCount = generator.chance(0.6) ? capacity : Int.random(in: 0...9, using: &generator)
        let target = { (g: inout SeededGenerator) -> UInt32 in
            g.pick([
                DispatchTable.empty, 0, 1, 2, 0x0800_0000, DispatchTable.terminalBit | 3,
                .random(in: 0...UInt32.max, using: &g),
            ])
        }
        return DispatchTable(
            layout: generator.pick([.direct, .collisionFree, .probing]),
            keys: (0..<keyCount).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) },
            targets: (0..<capacity).map { _ in target(&generator) },
            parameter: generator.pick([0, 5, 0xFFFF_FFFF, 1 << 32, .max, 0x9E37_79B9_7F4A_7C15]))
    }

    static func arbitraryProgram(_ generator: inout SeededGenerator) -> Program {
        Program(
            instructions: (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                arbitraryInstruction(&generator)
            },
            tables: (0..<Int.random(in: 0...3, using: &generator)).map { _ in arbitraryTable(&generator) },
            filters: (0..<Int.random(in: 0...3, using: &generator)).map {
                ProgramFilter(
                    id: generator.chance(0.9) ? UInt32($0) : .random(in: 0...3, using: &generator),
                    name: generator.pick(["f\($0)", "", "two\nlines", "q\"uote\\"]), app: "a",
                    priority: .random(in: 0...UInt16.max, using: &generator), isTap: generator.chance(0.3))
            },
            registerCount: generator.pick([-1, 0, 1, 2, 16, 17, 300, .max, .min]),
            linkType: generator.pick([0, 1, .max]))
    }

    @Test func anyProgramPrintsWithoutTrapping() {
        var generator = SeededGenerator(seed: 91)
        // The shapes the issue names, then random ones.
        var programs = [UInt8]([0, 3, 5, 8, 255]).map { width in
            Program(
                instructions: [
                    Instruction(.test, width: width, offset: .max, mask: .max, value: 1, target: .max),
                    Instruction(.shift, width: width, register: 9, aux: 255),
                    Instruction(.dispatch, width: width, value: 7, target: 0),
                    Instruction(.accept, value: .max, specificity: .max),
                ],
                tables: [DispatchTable(layout: .probing, keys: [], targets: [1, 2, 3], parameter: 0)],
                registerCount: -5)
        }
        programs += (0..<3000).map { _ in DisassemblerRobustnessTests.arbitraryProgram(&generator) }
        for program in programs {
            let text = Disassembler.disassemble(program)
            #expect(text.hasPrefix("program registers"))
            for instruction in program.instructions {
                #expect(!Disassembler.describe(instruction, in: program).isEmpty)
            }
            // Reading the text back may fail, but must not trap either.
            _ = try? Assembler.assemble(text)
            // Nor may writing any program to a file; the file then reads back or is refused.
            if let decoded = try? ProgramFile.decode(ProgramFile.encode(program)) {
                _ = try? Verifier.verify(decoded)
            }
        }
    }
}

/// Random mutations of compiled programs (instruction fields, table entries and layouts, counts,
/// and bytes of the encoded file), each written to a `.dpfc` file and read back, verified, and
/// when accepted loaded and run over random packets against unreadable pages: nothing may trap,
/// and a verified table finds each of its keys.
@Suite struct MutatedProgramTests {
    static func bases() throws -> [Program] {
        var programs = [VerifierTests.valid]
        for (seed, count) in [(71, 4), (72, 12), (73, 40)] as [(UInt64, Int)] {
            programs.append(
                try Lowering.lower(
                    LoweringDifferentialTests.trie(try RandomFilterSets.make(seed: seed, count: count))))
        }
        return programs
    }

    static func mutate(_ program: inout Program, _ generator: inout SeededGenerator) {
        func pickIndex(_ count: Int) -> Int? {
            count == 0 ? nil : Int.random(in: 0..<count, using: &generator)
        }
        let count = UInt32(program.instructions.count)
        let interesting: [UInt32] = [
            0, 1, 2, count &- 1, count, count + 1, UInt32(program.tables.count),
            UInt32(program.filters.count),
            0x0800_0000, 0x7FFF_FFFF, DispatchTable.terminalBit, .max,
        ]
        func value(_ generator: inout SeededGenerator) -> UInt32 {
            generator.chance(0.6)
                ? generator.pick(interesting) : .random(in: 0...UInt32.max, using: &generator)
        }
        switch Int.random(in: 0..<10, using: &generator) {
        case 0..<5:
            guard let index = pickIndex(program.instructions.count) else { return }
            var instruction = program.instructions[index]
            switch Int.random(in: 0..<11, using: &generator) {
            case 0: instruction.opcode = generator.pick(Instruction.Opcode.allCases)
            case 1: instruction.width = generator.pick([0, 1, 2, 3, 4, 5, 255])
            case 2: instruction.relation = generator.pick(Instruction.Relation.allCases)
            case 3: instruction.base = generator.pick([0, 1, 2, 15, 16, 255])
            case 4: instruction.register = generator.pick([0, 1, 2, 15, 16, 255])
            case 5: instruction.aux = generator.pick([0, 1, 2, 3, 4, 255])
            case 6:
                instruction.offset = generator.pick([
                    0, 1, 14, 65531, 65532, 65535, .random(in: 0...100, using: &generator),
                ])
            case 7:
                instruction.mask =
                    generator.pick([0, 0xFF, 0xFFFF, 0x1_FFFF, .max]) ^ (generator.chance(0.3) ? 1 : 0)
            case 8: instruction.value = value(&generator)
            case 9: instruction.target = value(&generator)
            default: instruction.specificity = generator.pick([0, 1, 0xFFFF, 0x1_0000, .max])
            }
            program.instructions[index] = instruction
        case 5, 6:
            guard let index = pickIndex(program.tables.count) else { return }
            var table = program.tables[index]
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:
                guard let slot = pickIndex(table.capacity) else { return }
                table.targets[slot] =
                    generator.chance(0.3) ? DispatchTable.terminalBit | value(&generator) : value(&generator)
            case 2:
                guard table.isHashed, let slot = pickIndex(table.capacity) else { return }
                table.keys[slot] =
                    generator.chance(0.5) ? table.keys[(slot + 1) % table.capacity] : value(&generator)
            case 3:
                table.parameter = generator.pick([0, 1, 0xFFFF_FFFF, 1 << 32, .max, table.parameter ^ 1])
            default:
                // Another layout, its keys made to fit, or one slot fewer or more.
                switch Int.random(in: 0..<3, using: &generator) {
                case 0:
                    table.layout = generator.pick([.direct, .collisionFree, .probing])
                    table.keys = table.isHashed ? Array(repeating: 0, count: table.capacity) : []
                case 1:
                    guard !table.targets.isEmpty else { return }
                    table.targets.removeLast()
                    if table.isHashed { table.keys.removeLast() }
                default:
                    table.targets.append(value(&generator))
                    if table.isHashed { table.keys.append(value(&generator)) }
                }
            }
            program.tables[index] = table
        case 7:
            // Counts: registers, and an instruction, table or filter removed or repeated.
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: program.registerCount = generator.pick([-1, 0, 1, 2, 16, 17, .max])
            case 1:
                guard let index = pickIndex(program.instructions.count) else { return }
                program.instructions.remove(at: index)
            case 2:
                guard let index = pickIndex(program.instructions.count) else { return }
                program.instructions.insert(program.instructions[index], at: index)
            case 3:
                guard let index = pickIndex(program.tables.count) else { return }
                program.tables.remove(at: index)
            default:
                guard let index = pickIndex(program.filters.count) else { return }
                program.filters.remove(at: index)
            }
        default:
            // An extra table no dispatch reads, sometimes jumping out of the program.
            program.tables.append(
                DispatchTable.build([(UInt32.random(in: 0...9, using: &generator), value(&generator))]))
        }
    }

    /// `bytes` with byte `index` replaced and the checksum made to match, as a crafted file would be.
    static func resealed(_ bytes: [UInt8], setting index: Int, to byte: UInt8) -> [UInt8] {
        var bytes = bytes
        bytes[index] = byte
        var crc = ~UInt32(0)
        for byte in bytes[0..<28] + bytes[32...] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        for offset in 0..<4 { bytes[28 + offset] = UInt8(truncatingIfNeeded: ~crc >> (8 * offset)) }
        return bytes
    }

    @Test func mutatedProgramsNeverTrapFromFileToRun() throws {
        let bases = try MutatedProgramTests.bases()
        var generator = SeededGenerator(seed: 81)
        var source = RandomPackets(seed: 82)
        let packets = source.batch(16).map(\.bytes) + [[], [0x08], Array(repeating: 0xFF, count: 100)]
        let page = GuardedPage()
        var taps = [Int32](repeating: 0, count: 256)
        var (accepted, refusedByFile, refusedByVerifier) = (0, 0, 0)
        for round in 0..<2000 {
            var program = bases[round % bases.count]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                MutatedProgramTests.mutate(&program, &generator)
            }
            var bytes = ProgramFile.encode(program)
            if generator.chance(0.2) {
                // A byte of the file itself: header counts and layouts, lengths, anything.
                let index = Int.random(in: 4..<bytes.count, using: &generator)
                bytes = MutatedProgramTests.resealed(
                    bytes, setting: index,
                    to: generator.chance(0.5) ? 0xFF : .random(in: 0...255, using: &generator))
            }
            guard let decoded = try? ProgramFile.decode(bytes) else {
                refusedByFile += 1
                continue
            }
            _ = Disassembler.disassemble(decoded)
            guard let verified = try? Verifier.verify(decoded) else {
                refusedByVerifier += 1
                continue
            }
            accepted += 1
            for table in decoded.tables {
                for (key, target) in table.entries { #expect(table.lookup(key) == target) }
            }
            let interpreter = Interpreter(verified)
            guard interpreter.filterCount <= taps.count else { continue }
            for packet in packets {
                for placement in [GuardedPage.Placement.atEnd, .atStart] {
                    page.holding(packet, placement) { bytes in
                        taps.withUnsafeMutableBufferPointer { _ = interpreter.run(bytes, taps: $0) }
                    }
                }
            }
        }
        // Floors that catch a mutator gone tame or a verifier that refuses far too much.
        #expect(accepted > 200, "\(accepted) accepted")
        #expect(refusedByVerifier > 200, "\(refusedByVerifier) refused by the verifier")
        #expect(refusedByFile > 20, "\(refusedByFile) refused by the file format")
        print(
            "mutated programs: \(accepted) ran, \(refusedByVerifier) refused by the verifier, \(refusedByFile) by the file format"
        )
    }
}
