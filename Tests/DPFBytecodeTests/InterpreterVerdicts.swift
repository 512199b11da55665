import DPFBytecode
import DPFTrie

extension Interpreter {
    /// The interpreter's answer as a trie verdict: program filter numbers (install order) mapped
    /// back to the trie's filter ids through the filter names.
    func verdict(_ bytes: [UInt8], in trie: DecisionTrie) -> Verdict {
        let filters = verified.program.filters
        let ran = run(bytes)
        return Verdict(
            owner: ran.owner.map { trie.id(named: filters[Int($0)].name)! },
            taps: ran.taps.map { trie.id(named: filters[Int($0)].name)! }.sorted())
    }
}
