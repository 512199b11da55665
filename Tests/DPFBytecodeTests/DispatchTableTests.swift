import DPFBytecode
import DPFTestSupport
import Testing

/// The table builder picks a layout by the keys and every layout finds exactly its entries.
@Suite struct DispatchTableTests {
    static func check(_ table: DispatchTable, _ entries: [UInt32: UInt32], absent: [UInt32]) {
        for (key, target) in entries { #expect(table.lookup(key) == target, "key \(key)") }
        for key in absent where entries[key] == nil { #expect(table.lookup(key) == DispatchTable.empty) }
        #expect(table.entries.count == entries.count)
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
