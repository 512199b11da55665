/// The command line's exit statuses (DESIGN.md): every failure says why on stderr first.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Bad filters, captures or programs.
    case badInput = 1
    /// A malformed command line.
    case usage = 2
    /// The environment failed us: no permission, no device, a missing library.
    case environment = 3
    /// A bug in DPF itself (sysexits' EX_SOFTWARE), such as compiled code the verifier refuses;
    /// reported, never trapped on.
    case internalError = 70
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

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension ExitStatus {
    /// The status for a file the user named that could not be opened or read, from `errno`.
    ///
    /// The user named the wrong thing, which is bad input (1): a missing file (ENOENT), a path
    /// through something that is not a directory (ENOTDIR), a directory (EISDIR), a name too long
    /// or a loop of links. The environment refused us (3): no permission (EACCES, EPERM) and every
    /// other failure of the system (EIO, EMFILE, ENOMEM, ...). Output files are always 3 (see
    /// `OutputFile`): writing is refused by the environment, not by the program's input.
    static func reading(errno code: Int32) -> ExitStatus {
        switch code {
        case ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG, ELOOP: return .badInput
        default: return .environment
        }
    }
}
