import DPFTestSupport
import DPFTrie
import Testing

@Suite struct OpenAddressingTableTests {
    @Test func behavesLikeADictionaryUnderRandomUpdates() {
        var generator = SeededGenerator(seed: 3)
        var table = OpenAddressingTable()
        var model: [UInt32: Int32] = [:]
        for step in 0..<20_000 {
            // Few distinct keys, so removals often hit and probe runs collide.
            let key =
                generator.chance(0.5)
                ? UInt32.random(in: 0..<64, using: &generator)
                : UInt32.random(in: 0...UInt32.max, using: &generator)
            if generator.chance(0.55) {
                table.set(Int32(step), for: key)
                model[key] = Int32(step)
            } else {
                table.remove(key)
                model[key] = nil
            }
            #expect(table.count == model.count)
            if step % 97 == 0 {
                for probe in 0..<64 { #expect(table.value(for: UInt32(probe)) == model[UInt32(probe)]) }
                #expect(Dictionary(uniqueKeysWithValues: table.entries.map { ($0.key, $0.value) }) == model)
            }
        }
    }

    @Test func growsAndShrinksWithItsContents() {
        var table = OpenAddressingTable()
        for key in 0..<10_000 { table.set(Int32(key), for: UInt32(key * 7919)) }
        #expect(table.capacity >= 20_000 && table.capacity <= 32_768)
        for key in 0..<10_000 { #expect(table.value(for: UInt32(key * 7919)) == Int32(key)) }
        for key in 0..<9_990 { table.remove(UInt32(key * 7919)) }
        #expect(table.count == 10)
        #expect(table.capacity <= 64)
    }
}
