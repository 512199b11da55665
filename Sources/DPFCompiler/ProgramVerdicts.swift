import DPFBytecode
import DPFTrie

/// Reads an interpreter's answers as trie verdicts. A program numbers its filters in install
/// order; this maps those numbers back to the trie's filter ids (through the names, once).
public struct ProgramVerdicts {
    private let interpreter: Interpreter
    private let ids: [FilterID]

    /// `interpreter` must run a program lowered from `trie` (every filter name known to it).
    public init(_ interpreter: Interpreter, of trie: DecisionTrie) {
        self.interpreter = interpreter
        ids = interpreter.verified.program.filters.map { trie.id(named: $0.name)! }
    }

    /// The owner and taps the program gives `bytes` (allocates; for tools and tests).
    public func verdict(_ bytes: [UInt8]) -> Verdict {
        let ran = interpreter.run(bytes)
        return Verdict(owner: ran.owner.map { ids[Int($0)] }, taps: ran.taps.map { ids[Int($0)] }.sorted())
    }
}
