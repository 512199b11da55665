import DPFBytecode
import DPFTestSupport
import Testing

/// The table builder picks a layout by the keys and every layout finds exactly its entries.
@Suite struct DispatchTableTests {
    static func check(_ table: DispatchTable, _ entries: [UInt32: UInt32], absent: [UInt32]) {
        for (key, target) in entries { #expect(table.lookup(key) == target, "key \(key)") }
        for key in absent where entries[key] == nil { #expect(table.lookup(key) == DispatchTable.empty) }
        #expect(table.entries.count == entries.count)
        interpreterAgrees(with: table, keys: Array(entries.keys) + absent)
    }

    /// The interpreter decodes tables into its own layout; whatever `lookup` finds, a
    /// `dispatch u32[0]` whose entries accept filter `i` for the i-th entry must find too.
    static func interpreterAgrees(with table: DispatchTable, keys: [UInt32]) {
        let entries = table.entries
        let filterOfTarget = Dictionary(
            uniqueKeysWithValues: entries.enumerated().map { ($0.element.target, UInt32($0.offset)) })
        var terminal = table
        terminal.targets = table.targets.map {
            $0 == DispatchTable.empty ? $0 : DispatchTable.terminalBit | filterOfTarget[$0]!
        }
        let program = Program(
            instructions: [
                Instruction(.dispatch, width: 4, mask: .max, value: 0, target: 1, specificity: 1),
                Instruction(.halt),
            ],
            tables: [terminal],
            filters: entries.indices.map { ProgramFilter(id: UInt32($0), name: "f\($0)", app: "a") })
        guard let verified = try? Verifier.verify(program) else {
            Issue.record("the verifier refused a built \(table.layout) table")
            return
        }
        let interpreter = Interpreter(verified)
        for key in keys {
            let found = table.lookup(key)
            let expected = found == DispatchTable.empty ? nil : filterOfTarget[found]
            let packet = withUnsafeBytes(of: key.bigEndian) { Array($0) }
            #expect(interpreter.run(packet).owner == expected, "\(table.layout) key \(key)")
        }
    }

    @Test func oneOrTwoEntriesAreComparedInPlace() {
        for entries in [[0x0800: 7], [0x0800: 7, 0x86DD: 9]] as [[UInt32: UInt32]] {
            let table = DispatchTable.build(entries.map { ($0.key, $0.value) })
            DispatchTableTests.check(table, entries, absent: [0, 0x0801, 0x86DC, .max])
        }
    }

    @Test func denseKeysGetADirectTable() {
        let entries = Dictionary(
            uniqueKeysWithValues: stride(from: UInt32(1024), to: 3024, by: 2).map { ($0, $0 * 3) })
        let table = DispatchTable.build(entries.map { ($0.key, $0.value) })
        #expect(table.layout == .direct && table.capacity == 1999 && table.firstKey == 1024)
        DispatchTableTests.check(table, entries, absent: [0, 1023, 1025, 3024, 3025, .max])
    }

    /// Few sparse keys (EtherTypes) fit their home slots; many random keys cannot, and probe.
    @Test func sparseKeysGetAHashedTableCollisionFreeWhenFew() {
        let few: [UInt32: UInt32] = [0x0800: 1, 0x86DD: 2, 0x0806: 3, 0x8100: 4]
        let small = DispatchTable.build(few.map { ($0.key, $0.value) })
        #expect(small.layout == .collisionFree)
        DispatchTableTests.check(small, few, absent: [0, 0x0801, 0x88A8])

        var generator = SeededGenerator(seed: 3)
        var many: [UInt32: UInt32] = [:]
        while many.count < 2000 { many[.random(in: 0...UInt32.max, using: &generator)] = UInt32(many.count) }
        let large = DispatchTable.build(many.map { ($0.key, $0.value) })
        #expect(large.layout == .probing)
        let absent = (0..<2000).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        DispatchTableTests.check(large, many, absent: absent)
    }
}
