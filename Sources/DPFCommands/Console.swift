import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where commands write: the process's stdout/stderr, or a buffer in tests.
public final class Console: Sendable {
    private enum Sink {
        case standardStreams
        case buffer
    }

    private let sink: Sink
    private let captured = Mutex((standardOutput: "", standardError: "", transcript: ""))
    private let capturedErrorIsTerminal: Bool
    /// How often a long-running command refreshes its progress line.
    public let progressInterval: Duration

    private init(
        sink: Sink, standardErrorIsTerminal: Bool = false, progressInterval: Duration = .milliseconds(500)
    ) {
        self.sink = sink
        self.capturedErrorIsTerminal = standardErrorIsTerminal
        self.progressInterval = progressInterval
    }

    public static let standard = Console(sink: .standardStreams)

    /// A console that keeps everything written, for tests; it can pretend its stderr is a
    /// terminal, so that progress lines are written (and kept) too.
    public static func capturing(
        standardErrorIsTerminal: Bool = false, progressInterval: Duration = .milliseconds(500)
    ) -> Console {
        Console(
            sink: .buffer, standardErrorIsTerminal: standardErrorIsTerminal,
            progressInterval: progressInterval)
    }

    /// True when stderr is a terminal someone watches: only then do commands show progress.
    public var standardErrorIsTerminal: Bool {
        switch sink {
        case .standardStreams: return isatty(STDERR_FILENO) != 0
        case .buffer: return capturedErrorIsTerminal
        }
    }

    /// The console commands write to; tests bind their own.
    @TaskLocal public static var current: Console = .standard

    public var standardOutput: String { captured.withLock { $0.standardOutput } }
    public var standardError: String { captured.withLock { $0.standardError } }
    /// Both streams interleaved in the order written, as a terminal would show them.
    public var transcript: String { captured.withLock { $0.transcript } }

    public func out(_ text: String, terminator: String = "\n") {
        switch sink {
        case .standardStreams:
            Console.write(text + terminator, to: STDOUT_FILENO)
        case .buffer:
            captured.withLock {
                $0.standardOutput += text + terminator
                $0.transcript += text + terminator
            }
        }
    }

    /// Unbuffered, so stdout and stderr lines interleave in the order written.
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }

    public func err(_ text: String, terminator: String = "\n") {
        switch sink {
        case .standardStreams:
            Console.write(text + terminator, to: STDERR_FILENO)
        case .buffer:
            captured.withLock {
                $0.standardError += text + terminator
                $0.transcript += text + terminator
            }
        }
    }
}

/// `text` padded with spaces to `width` columns (at least one space), on the right or, for
/// numbers, on the left: the tables `dpf demo` and `dpf bench` print.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(1, width - text.count))
    return right ? padding + text : text + padding
}

extension Int {
    /// The number with thousands separators: 1,234,567.
    var grouped: String {
        let digits = String(magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
            result.append(digit)
        }
        return (self < 0 ? "-" : "") + result
    }
}
