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
    /// The source line as printed: bytes that are not printable text escaped (`\x00`, `\u{202E}`)
    /// and a very long line shortened to a window around the caret, the cuts marked `...`.
    public let sourceLine: String
    /// The line under `sourceLine`: the caret and tildes under the offending text.
    public let caretLine: String
    /// Extra lines, such as "did you mean 'tcp.dport'?".
    public let notes: [String]

    public init(
        _ severity: Severity, _ message: String, at range: SourceRange, in source: SourceFile,
        notes: [String] = []
    ) {
        self.severity = severity
        self.message = message
        self.fileName = source.name
        self.notes = notes
        let location = source.location(of: range.start)
        self.location = location
        // Only the bytes near the caret are looked at, so a diagnostic costs the same on a
        // megabyte-long line as on a short one.
        let bytes = source.bytes
        let lineStart = location.offset - (location.column - 1)
        var underlineEnd = location.offset
        while underlineEnd < min(range.end, bytes.count), bytes[underlineEnd] != UInt8(ascii: "\n") {
            underlineEnd += 1
        }
        self.length = max(1, underlineEnd - location.offset)
        let excerpt = Excerpt(
            bytes, lineStart: lineStart, caret: location.offset, caretEnd: location.offset + length)
        self.sourceLine = excerpt.line
        self.caretLine = excerpt.caret
    }

    public var line: Int { location.line }
    public var column: Int { location.column }

    /// `file:line:col: error: message`.
    public var headline: String { "\(fileName):\(line):\(column): \(severity.rawValue): \(message)" }

    /// The headline, the source line, a caret under the offending text, then any notes.
    public var rendered: String {
        var lines = [headline, "    " + sourceLine, "    " + caretLine]
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

/// The printable excerpt of a source line around a caret, and the caret line beneath it.
private struct Excerpt {
    /// Lines up to this many bytes are printed whole; longer ones are cut around the caret.
    static let wholeLine = 160
    /// Bytes kept before the caret and after the underlined text when a line is cut.
    static let context = 60
    /// The most underlined bytes shown when a line is cut.
    static let underline = 40

    var line = ""
    var caret = ""

    init(_ bytes: [UInt8], lineStart: Int, caret caretStart: Int, caretEnd: Int) {
        // The line's end, looking no further than the window needs.
        let limit =
            max(min(caretEnd, caretStart + Excerpt.underline), lineStart + Excerpt.wholeLine)
            + Excerpt.context + 1
        var lineEnd = caretStart
        while lineEnd < min(bytes.count, limit), bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
        let cutAtEnd = lineEnd == limit && lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n")
        if !cutAtEnd, lineEnd > max(lineStart, caretStart), bytes[lineEnd - 1] == UInt8(ascii: "\r") {
            lineEnd -= 1
        }
        var start = lineStart
        var end = lineEnd
        var shownCaretEnd = caretEnd
        if cutAtEnd || lineEnd - lineStart > Excerpt.wholeLine {
            start = max(lineStart, caretStart - Excerpt.context)
            shownCaretEnd = min(caretEnd, caretStart + Excerpt.underline)
            end = min(lineEnd, shownCaretEnd + Excerpt.context)
            // Cut at character boundaries: skip continuation bytes at the start, finish a
            // character at the end.
            while start < caretStart, bytes[start] & 0xC0 == 0x80 { start += 1 }
            while end < lineEnd, end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        }
        if start > lineStart { line = "..." }
        caret = start > lineStart ? "   " : ""
        var underlined = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes[start..<min(end, bytes.count)].makeIterator()
        var offset = start
        func place(_ text: String, width: Int, at position: Int, tab: Bool = false) {
            line += text
            if position < caretStart {
                caret += tab ? "\t" : String(repeating: " ", count: width)
            } else if position < shownCaretEnd {
                underlined += width
            }
        }
        decoding: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                let width = encoded.count
                if scalar == "\t" {
                    place("\t", width: 1, at: offset, tab: true)
                } else if Excerpt.isPrintable(scalar) {
                    place(String(scalar), width: 1, at: offset)
                } else if scalar.value < 0x80 {
                    let text = Excerpt.hexEscape(UInt8(scalar.value))
                    place(text, width: text.count, at: offset)
                } else {
                    let text = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                    place(text, width: text.count, at: offset)
                }
                offset += width
            case .error(let length):
                for index in 0..<length {
                    place(Excerpt.hexEscape(bytes[offset + index]), width: 4, at: offset + index)
                }
                offset += length
            case .emptyInput:
                break decoding
            }
        }
        if end < lineEnd || cutAtEnd { line += "..." }
        caret += "^" + String(repeating: "~", count: max(0, underlined - 1))
    }

    /// Whether a character prints as itself: not a control, format (bidirectional overrides,
    /// zero-width joiners) or separator character, nor unassigned.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return false
        default:
            return true
        }
    }

    static func hexEscape(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16)
        return "\\x" + (hex.count == 1 ? "0" : "") + hex
    }
}
