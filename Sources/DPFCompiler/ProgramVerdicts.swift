import DPFBytecode
import DPFTrie

/// Reads an interpreter's answers as trie verdicts: a program number becomes the stable id the
/// program carries for it, so the verdict names the same filters as the trie's, whichever
/// generation of the program ran.
public struct ProgramVerdicts {
    private let interpreter: Interpreter
    private let ids: [FilterID]

    public init(_ interpreter: Interpreter) {
        self.interpreter = interpreter
        ids = interpreter.verified.program.filters.map { FilterID(rawValue: $0.id) }
    }

    /// The owner and taps the program gives `bytes` (allocates; for tools and tests).
    public func verdict(_ bytes: [UInt8]) -> Verdict {
        let ran = interpreter.run(bytes)
        return Verdict(owner: ran.owner.map { ids[Int($0)] }, taps: ran.taps.map { ids[Int($0)] }.sorted())
    }
}
