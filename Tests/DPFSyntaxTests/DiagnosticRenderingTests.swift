import DPFSyntax
import Testing

/// Issue 9: a diagnostic's source line is printable whatever the file holds, and short whatever
/// the line's length, with the caret under the offending text.
@Suite struct DiagnosticRenderingTests {
    func diagnostic(_ bytes: [UInt8], at start: Int, length: Int = 1) -> Diagnostic {
        let source = SourceFile(name: "f", bytes: bytes)
        return Diagnostic(.error, "bad", at: SourceRange(start: start, end: start + length), in: source)
    }

    /// The printed line and the caret line, without their indentation.
    func excerpt(_ diagnostic: Diagnostic) -> (line: String, caret: String) {
        let lines = diagnostic.rendered.split(separator: "\n", omittingEmptySubsequences: false)
        return (String(lines[1].dropFirst(4)), String(lines[2].dropFirst(4)))
    }

    @Test func controlBytesAndInvalidUTF8AreEscapedAndTheCaretFollows() {
        let bytes = Array("ab".utf8) + [0x00, 0xFF] + Array("cd xyz".utf8)
        let shown = excerpt(diagnostic(bytes, at: 7, length: 3))
        #expect(shown.line == #"ab\x00\xffcd xyz"#)
        #expect(shown.caret == String(repeating: " ", count: 13) + "^~~")
        let onByte = excerpt(diagnostic(bytes, at: 2, length: 2))
        #expect(onByte.caret == "  ^" + String(repeating: "~", count: 7))
    }

    @Test func invisibleAndBidirectionalCharactersAreEscaped() {
        // U+202E RIGHT-TO-LEFT OVERRIDE would reorder the terminal's display of the line.
        let bytes = Array("a \u{202E}b é x".utf8)
        let shown = excerpt(diagnostic(bytes, at: bytes.count - 1))
        #expect(shown.line == #"a \u{202E}b é x"#)
        #expect(shown.caret == String(repeating: " ", count: shown.line.count - 1) + "^")
    }

    @Test func aVeryLongLineIsCutAroundTheCaretWhichStaysAligned() {
        let prefix = String(repeating: "ip4 and ", count: 10_000)
        let text = prefix + "bogus.x == 1" + String(repeating: " and ip4", count: 10_000)
        let shown = excerpt(diagnostic(Array(text.utf8), at: prefix.utf8.count, length: 7))
        #expect(shown.line.count < 200)
        #expect(shown.line.hasPrefix("..."))
        #expect(shown.line.hasSuffix("..."))
        let caret = shown.caret.firstIndex(of: "^").map {
            shown.caret.distance(from: shown.caret.startIndex, to: $0)
        }
        let token = shown.line.range(of: "bogus.x").map {
            shown.line.distance(from: shown.line.startIndex, to: $0.lowerBound)
        }
        #expect(caret != nil && caret == token)
        #expect(shown.caret.hasSuffix("^" + String(repeating: "~", count: 6)))
        #expect(diagnostic(Array(text.utf8), at: prefix.utf8.count).column == prefix.utf8.count + 1)
    }

    @Test func aLineOfBinaryWithoutBreaksIsShortAndPrintable() {
        let bytes = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let rendered = diagnostic(bytes, at: 500_000).rendered
        #expect(rendered.count < 1_000)
        #expect(!rendered.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
    }

    @Test func shortLinesAreUnchanged() {
        let shown = excerpt(diagnostic(Array("app a { tcp.dprt == 80 }\r\nnext".utf8), at: 8, length: 8))
        #expect(shown.line == "app a { tcp.dprt == 80 }")
        #expect(shown.caret == "        ^~~~~~~~")
        let atEnd = excerpt(diagnostic(Array("app a {\n".utf8), at: 7))
        #expect(atEnd.line == "app a {")
        #expect(atEnd.caret == "       ^")
    }
}
