import DPFBytecode
import DPFTrie

/// Why a trie did not become a runnable program.
public enum CompileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The filters do not fit one program (too many instructions, filters, header bases...): the
    /// user's input, to be reported as such.
    case lowering(LoweringError)
    /// The verifier refused the lowered program: a compiler bug, never the user's input, but
    /// reported rather than trapped on, since the trie came from untrusted filters.
    case verification(VerifierError)

    public var description: String {
        switch self {
        case .lowering(let error): "cannot lower the filters to bytecode: \(error.message)"
        case .verification(let error): "the compiler produced a program the verifier refuses: \(error)"
        }
    }
}

/// The whole back end in one call: lower the trie, then verify the result, as every caller that
/// runs a program must.
public enum Compiler {
    public static func compile(_ trie: DecisionTrie) throws(CompileError) -> VerifiedProgram {
        let program: Program
        do {
            program = try Lowering.lower(trie)
        } catch {
            throw .lowering(error)
        }
        do {
            return try Verifier.verify(program)
        } catch {
            throw .verification(error)
        }
    }
}
