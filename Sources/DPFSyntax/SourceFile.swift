/// The text of one filter file (or command-line expression) and the index that maps byte offsets
/// to lines and columns. Bytes need not be valid UTF-8: the lexer reports what it cannot read.
/// Lines end with LF, CRLF or a lone CR; a leading UTF-8 byte-order mark is dropped.
public struct SourceFile: Sendable, Equatable {
    public let name: String
    public let bytes: [UInt8]
    private let lineStarts: [Int]

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes.starts(with: SourceFile.byteOrderMark) ? Array(bytes.dropFirst(3)) : bytes
        var starts = [0]
        let text = self.bytes
        for (index, byte) in text.enumerated() {
            let endsLine =
                byte == UInt8(ascii: "\n")
                || (byte == UInt8(ascii: "\r")
                    && (index + 1 == text.count || text[index + 1] != UInt8(ascii: "\n")))
            if endsLine { starts.append(index + 1) }
        }
        lineStarts = starts
    }

    public init(name: String, text: String) { self.init(name: name, bytes: Array(text.utf8)) }

    /// The 1-based line and column of a byte offset (columns count bytes).
    public func location(of offset: Int) -> SourceLocation {
        let clamped = max(0, min(offset, bytes.count))
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= clamped { low = middle } else { high = middle - 1 }
        }
        return SourceLocation(offset: clamped, line: low + 1, column: clamped - lineStarts[low] + 1)
    }

    /// The text of a 1-based line, without its line break.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    public func text(of range: SourceRange) -> String {
        String(decoding: bytes[max(0, range.start)..<min(bytes.count, range.end)], as: UTF8.self)
    }
}

/// A 1-based line and column plus the byte offset they came from.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let offset: Int
    public let line: Int
    public let column: Int

    public var description: String { "\(line):\(column)" }
}

/// A half-open range of byte offsets in one source file.
public struct SourceRange: Sendable, Hashable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = max(start, end)
    }

    public func union(_ other: SourceRange) -> SourceRange {
        SourceRange(start: min(start, other.start), end: max(end, other.end))
    }
}

/// Source positions travel with AST nodes but are not part of their identity: two trees that differ
/// only in where their text sat compare equal (this is what the print/re-parse round trip relies on).
@propertyWrapper
public struct NotCompared<Value: Sendable>: Equatable, Sendable {
    public var wrappedValue: Value
    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
    public static func == (lhs: Self, rhs: Self) -> Bool { true }
}
