import DPFTestSupport
import DPFTrie
import Testing

/// After any sequence of inserts and removes the trie equals, by its canonical dump, the trie
/// built from scratch from the filters still installed.
@Suite struct IncrementalUpdateTests {
    @Test(arguments: [21, 22, 23] as [UInt64])
    func randomUpdatesMatchARebuild(seed: UInt64) throws {
        let pool = try RandomFilterSets.make(seed: seed, count: 300)
        var generator = SeededGenerator(seed: seed)
        let trie = DecisionTrie()
        var granted: Set<FilterID> = []
        var installed: [RandomFilterSets.Entry] = []
        var (inserts, removes, peak) = (0, 0, 0)
        for step in 0..<1200 {
            if !installed.isEmpty && generator.chance(0.4) {
                let victim = installed.remove(at: Int.random(in: 0..<installed.count, using: &generator))
                try trie.remove(named: victim.name)
                removes += 1
            } else {
                let candidate = generator.pick(pool)
                guard trie.id(named: candidate.name) == nil else { continue }
                if let id = try? trie.insert(
                    name: candidate.name, app: candidate.app, priority: candidate.priority,
                    isTap: candidate.isTap, tree: candidate.tree,
                    authorizedOver: granted)
                {
                    granted.insert(id)
                    installed.append(candidate)
                    inserts += 1
                    peak = max(peak, installed.count)
                }
            }
            if step % 100 == 99 || step == 1199 {
                let rebuilt = DecisionTrie()
                var rebuiltGranted: Set<FilterID> = []
                for filter in installed {
                    rebuiltGranted.insert(
                        try rebuilt.insert(
                            name: filter.name, app: filter.app, priority: filter.priority,
                            isTap: filter.isTap, tree: filter.tree,
                            authorizedOver: rebuiltGranted))
                }
                #expect(trie.dump() == rebuilt.dump())
                #expect(trie.statistics.nodes == rebuilt.statistics.nodes)
            }
        }
        // The sequence really churned: most inserts succeeded and the trie held many filters.
        #expect(
            inserts > 400 && removes > 300 && peak > 20,
            "\(inserts) inserts, \(removes) removes, peak \(peak)")
        for filter in installed { try trie.remove(named: filter.name) }
        #expect(trie.dump() == DecisionTrie().dump())
        #expect(trie.statistics.nodes == 1)
    }
}
