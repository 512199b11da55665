/// Why a filter, or a part of one, was refused: by an IR initialiser (an impossible load), by the
/// builder (a header the link lacks), or at the trusted boundary (`FilterTree.admitted()`).
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A load width other than 1, 2 or 4 bytes.
        case invalidWidth
        /// A shift with an impossible scale, or a base chaining too many shifts.
        case invalidShift
        /// A load that ends past the 64 KiB packet window.
        case outsidePacketWindow
        /// A link-layer header (Ethernet, a VLAN tag) the link type does not have.
        case notOnLink
        /// A request that does not fit the field (a wide field where one load is needed).
        case unsupportedField
        /// A value or mask wider than its field.
        case valueOutOfRange
        /// A tree nested deeper than `FilterTree.maximumDepth`.
        case tooDeep
        /// A tree with more nodes than `FilterTree.maximumNodes`.
        case tooLarge
        /// A tree whose normalisation or expansion would take more than `WorkBudget.admission`.
        case tooComplex
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
