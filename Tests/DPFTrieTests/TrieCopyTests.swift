import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// `copy()` gives an independent trie: whatever happens to the original afterwards, the copy
/// walks, dumps and reports exactly as the original did when it was copied.
@Suite struct TrieCopyTests {
    @Test(arguments: [41, 42] as [UInt64])
    func updatesToTheOriginalLeaveTheCopyAlone(seed: UInt64) throws {
        let (trie, installed) = TrieWalkerTests.build(try RandomFilterSets.make(seed: seed, count: 300))
        #expect(installed.count > 50)
        var packets = RandomPackets(seed: seed &+ 500)
        let sample = packets.batch(1000)
        let copy = trie.copy()
        let dump = copy.dump()
        let walked = sample.map { copy.verdict(for: $0) }
        let reference = copy.referenceVerdicts(for: sample)
        #expect(dump == trie.dump())
        #expect(walked == sample.map { trie.verdict(for: $0) })
        #expect(walked == reference)
        #expect(walked.contains { $0.owner != nil })

        // Churn the original: remove every other filter, then install more, authorized over all.
        var generator = SeededGenerator(seed: seed)
        for (index, filter) in installed.enumerated() where index % 2 == 0 {
            try trie.remove(named: filter.name)
        }
        var granted = Set(trie.installed.map(\.id))
        for entry in try RandomFilterSets.make(seed: seed &+ 1000, count: 200) where generator.chance(0.8) {
            if let id = try? trie.insert(
                name: "late." + entry.name, app: entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree, authorizedOver: granted)
            {
                granted.insert(id)
            }
        }
        #expect(trie.dump() != dump)
        #expect(sample.map { trie.verdict(for: $0) } != walked)

        #expect(copy.dump() == dump)
        #expect(copy.filterCount == installed.count)
        #expect(sample.map { copy.verdict(for: $0) } == walked)
        #expect(copy.referenceVerdicts(for: sample) == reference)
        for filter in installed { #expect(copy.id(named: filter.name) != nil) }
    }

    /// The copy carries the id counter and free lists: updated the same way, the copy and the
    /// original stay equal, ids included, and updating the copy leaves the original alone.
    @Test func theCopyUpdatesLikeTheOriginal() throws {
        let trie = DecisionTrie()
        try trie.insert(name: "web", app: "web", tree: RandomFilterSets.tree("tcp.dport == 80"))
        try trie.insert(name: "dns", app: "dns", tree: RandomFilterSets.tree("udp.dport == 53"))
        try trie.remove(named: "web")
        let before = trie.dump()
        let copy = trie.copy()
        let ssh = try RandomFilterSets.tree("tcp.dport == 22")
        let inOriginal = try trie.insert(name: "ssh", app: "ssh", tree: ssh)
        let inCopy = try copy.insert(name: "ssh", app: "ssh", tree: ssh)
        #expect(inOriginal == inCopy)
        #expect(copy.dump() == trie.dump())
        try copy.remove(named: "dns")
        #expect(trie.id(named: "dns") != nil)
        try trie.remove(named: "ssh")
        #expect(trie.dump() == before)
        #expect(copy.id(named: "ssh") == inCopy)
    }
}
