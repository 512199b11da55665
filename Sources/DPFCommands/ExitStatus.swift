/// The command line's exit statuses (DESIGN.md): every failure says why on stderr first.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Bad filters, captures or programs.
    case badInput = 1
    /// A malformed command line.
    case usage = 2
    /// The environment failed us: no permission, no device, a missing library.
    case environment = 3
}

/// Thrown by commands to stop with a status after having printed their messages.
public struct CommandFailure: Error, Sendable {
    public let status: ExitStatus
    /// A line for stderr, unless the command already printed its diagnostics.
    public let message: String?

    public init(_ status: ExitStatus, _ message: String? = nil) {
        self.status = status
        self.message = message
    }
}
