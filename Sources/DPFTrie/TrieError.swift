/// Why the trie refused an update.
public struct TrieError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case duplicateName
        /// The filter tree was refused at the trusted boundary (`FilterTree.admitted()`): too deep
        /// or too large.
        case invalidFilter
        case unknownFilter
        /// The filter expands to more paths than `PathExpansion.maximumPaths`.
        case tooManyPaths
        /// The filter would take packets another app's filter owns; that filter's guard is needed.
        case wouldSteal
        /// The delivery rule could not choose between the two filters on some packet.
        case tie
        /// The trie has handed out every filter id (`DeliveryKey.maximumOrder + 1` installs).
        case exhausted
    }

    public let kind: Kind
    public let message: String
    /// The installed filter the new one collides with, for `wouldSteal` and `tie`.
    public let conflictingFilter: String?

    public init(_ kind: Kind, _ message: String, conflictingFilter: String? = nil) {
        self.kind = kind
        self.message = message
        self.conflictingFilter = conflictingFilter
    }

    public var description: String { message }
}
