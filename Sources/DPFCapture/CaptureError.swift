/// A capture file or libpcap failure, with the message libpcap gave and where it happened.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The file could not be opened or is not a capture libpcap understands.
        case unreadable
        /// The file ended or broke in the middle of a record.
        case malformed
        /// libpcap refused a filter expression.
        case badExpression
        /// The link type is one DPF does not demultiplex.
        case unsupportedLinkType
    }

    public let kind: Kind
    public let message: String
    /// The system's error number when the system refused to open the file (a missing file, no
    /// permission), so callers can tell bad input from a refusing environment.
    public let systemError: Int32?
    /// For `.malformed`: the record that broke (counting from 1) and libpcap's reason, apart from
    /// the file name and counts that `message` adds for a reader.
    public let brokenRecord: (number: Int, reason: String)?

    public init(
        _ kind: Kind, _ message: String, systemError: Int32? = nil,
        brokenRecord: (number: Int, reason: String)? = nil
    ) {
        self.kind = kind
        self.message = message
        self.systemError = systemError
        self.brokenRecord = brokenRecord
    }

    public var description: String { message }
}
