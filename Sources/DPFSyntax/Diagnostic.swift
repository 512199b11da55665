/// A message about a user's filter text: where it is and what was wrong or expected.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public let severity: Severity
    public let message: String
    public let fileName: String
    public let location: SourceLocation
    /// Bytes the caret underlines (at least 1).
    public let length: Int
    /// The full source line, for the caret display.
    public let sourceLine: String
    /// Extra lines, such as "did you mean 'tcp.dport'?".
    public let notes: [String]

    public init(
        _ severity: Severity, _ message: String, at range: SourceRange, in source: SourceFile,
        notes: [String] = []
    ) {
        self.severity = severity
        self.message = message
        self.fileName = source.name
        self.location = source.location(of: range.start)
        let lineEnd = location.offset - location.column + 1 + source.lineText(location.line).utf8.count
        self.length = max(1, min(range.end, lineEnd) - range.start)
        self.sourceLine = source.lineText(location.line)
        self.notes = notes
    }

    public var line: Int { location.line }
    public var column: Int { location.column }

    /// `file:line:col: error: message`.
    public var headline: String { "\(fileName):\(line):\(column): \(severity.rawValue): \(message)" }

    /// The headline, the source line, a caret under the offending text, then any notes.
    public var rendered: String {
        var marker = ""
        for (index, byte) in sourceLine.utf8.enumerated() where index < column - 1 {
            marker.append(byte == UInt8(ascii: "\t") ? "\t" : " ")
        }
        while marker.utf8.count < column - 1 { marker.append(" ") }
        marker += "^" + String(repeating: "~", count: max(0, length - 1))
        var lines = [headline, "    " + sourceLine, "    " + marker]
        lines += notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }

    public var description: String { rendered }
}

/// One or more diagnostics, as the error a stage throws when its input is bad.
public struct DiagnosticError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        precondition(!diagnostics.isEmpty)
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.rendered).joined(separator: "\n") }
}
