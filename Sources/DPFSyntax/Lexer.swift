/// Splits filter text into tokens. Never fails: unreadable input becomes an `.invalid` token
/// carrying the message, which the parser reports at that position.
public struct Lexer {
    private let bytes: [UInt8]
    private var position = 0
    private var bracketDepth = 0

    public init(_ source: SourceFile) { bytes = source.bytes }

    /// All tokens, ending with exactly one `.endOfFile`.
    public static func tokenize(_ source: SourceFile) -> [Token] {
        var lexer = Lexer(source)
        var tokens: [Token] = []
        while true {
            let token = lexer.next()
            tokens.append(token)
            if token.kind == .endOfFile { return tokens }
        }
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        position + ahead < bytes.count ? bytes[position + ahead] : nil
    }

    private func make(_ kind: Token.Kind, from start: Int, text: String? = nil) -> Token {
        Token(
            kind: kind, text: text ?? String(decoding: bytes[start..<position], as: UTF8.self),
            range: SourceRange(start: start, end: position))
    }

    public mutating func next() -> Token {
        skipBlanksAndComments()
        let start = position
        guard let byte = peek() else { return make(.endOfFile, from: start, text: "") }
        position += 1
        switch byte {
        case UInt8(ascii: "\n"): return make(.newline, from: start)
        case UInt8(ascii: "\r"):
            // CRLF and a lone CR (old Mac line ends) both end a line.
            if peek() == UInt8(ascii: "\n") { position += 1 }
            return make(.newline, from: start)
        case UInt8(ascii: "("): return make(.leftParen, from: start)
        case UInt8(ascii: ")"): return make(.rightParen, from: start)
        case UInt8(ascii: "{"): return make(.leftBrace, from: start)
        case UInt8(ascii: "}"): return make(.rightBrace, from: start)
        case UInt8(ascii: "["):
            bracketDepth += 1
            return make(.leftBracket, from: start)
        case UInt8(ascii: "]"):
            bracketDepth = max(0, bracketDepth - 1)
            return make(.rightBracket, from: start)
        case UInt8(ascii: ";"): return make(.semicolon, from: start)
        case UInt8(ascii: ","): return make(.comma, from: start)
        case UInt8(ascii: "/"): return make(.slash, from: start)
        case UInt8(ascii: "*"): return make(.star, from: start)
        case UInt8(ascii: "\""): return lexString(from: start)
        case UInt8(ascii: "="):
            if peek() == UInt8(ascii: "=") { position += 1 }
            return make(.equal, from: start)
        case UInt8(ascii: "!"):
            if peek() == UInt8(ascii: "=") {
                position += 1
                return make(.notEqual, from: start)
            }
            return make(.bang, from: start)
        case UInt8(ascii: "<"):
            if peek() == UInt8(ascii: "=") {
                position += 1
                return make(.lessEqual, from: start)
            }
            return make(.less, from: start)
        case UInt8(ascii: ">"):
            if peek() == UInt8(ascii: "=") {
                position += 1
                return make(.greaterEqual, from: start)
            }
            return make(.greater, from: start)
        case UInt8(ascii: "&"):
            if peek() == UInt8(ascii: "&") {
                position += 1
                return make(.andAnd, from: start)
            }
            return make(.ampersand, from: start)
        case UInt8(ascii: "|"):
            if peek() == UInt8(ascii: "|") {
                position += 1
                return make(.orOr, from: start)
            }
            return make(.invalid, from: start, text: "unexpected '|'; did you mean '||' or 'or'?")
        case UInt8(ascii: "."):
            if peek() == UInt8(ascii: ".") {
                position += 1
                return make(.dotDot, from: start)
            }
            position -= 1
            return lexWord(from: start)
        case UInt8(ascii: ":"):
            if bracketDepth == 0 && peek() == UInt8(ascii: ":") {
                position -= 1
                return lexWord(from: start)
            }
            return make(.colon, from: start)
        default:
            if Lexer.isWordByte(byte) {
                position -= 1
                return lexWord(from: start)
            }
            return lexUnexpected(byte, from: start)
        }
    }

    private mutating func skipBlanksAndComments() {
        while let byte = peek() {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                position += 1
            } else if byte == UInt8(ascii: "#") {
                while let next = peek(), next != UInt8(ascii: "\n"), next != UInt8(ascii: "\r") {
                    position += 1
                }
            } else {
                return
            }
        }
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    /// A word: identifier, dotted field name, number, or address. Outside brackets a word may hold
    /// dots and colons (`ip4.src`, `10.0.0.1`, `fe80::1`, `00:1b:21:3c:4d:5e`) but never `..`.
    /// `name:` followed by something that cannot continue an address is a label.
    private mutating func lexWord(from start: Int) -> Token {
        let startsIdentifier = peek().map { Lexer.isWordByte($0) && !($0 >= 48 && $0 <= 57) } ?? false
        while let byte = peek() {
            // Names may hold '-' between word characters (`app web-frontend`).
            let isInnerHyphen =
                byte == UInt8(ascii: "-") && startsIdentifier && position > start
                && peek(1).map(Lexer.isWordByte) == true
            guard Lexer.isWordByte(byte) || isInnerHyphen else { break }
            position += 1
        }
        if startsIdentifier, bracketDepth == 0, peek() == UInt8(ascii: ":"),
            !continuesAddress(at: position + 1)
        {
            let token = make(.label, from: start)
            position += 1
            return Token(kind: .label, text: token.text, range: SourceRange(start: start, end: position))
        }
        guard bracketDepth == 0 else {
            if position == start {
                position += 1
                return make(
                    .invalid, from: start,
                    text: "unexpected '\(Character(UnicodeScalar(bytes[start])))' inside '[...]'")
            }
            return make(.word, from: start)
        }
        while let byte = peek() {
            if Lexer.isWordByte(byte) || byte == UInt8(ascii: ":") {
                position += 1
            } else if byte == UInt8(ascii: "."), peek(1) != UInt8(ascii: ".") {
                position += 1
            } else {
                break
            }
        }
        return make(.word, from: start)
    }

    private func continuesAddress(at index: Int) -> Bool {
        guard index < bytes.count else { return false }
        return Lexer.isHexDigit(bytes[index]) || bytes[index] == UInt8(ascii: ":")
    }

    private mutating func lexString(from start: Int) -> Token {
        var contents: [UInt8] = []
        while let byte = peek() {
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return make(.string, from: start, text: String(decoding: contents, as: UTF8.self))
            case UInt8(ascii: "\\"):
                guard let escaped = peek(), escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\")
                else {
                    return make(
                        .invalid, from: position - 1,
                        text: "unknown escape in string; only \\\" and \\\\ are allowed")
                }
                position += 1
                contents.append(escaped)
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                position -= 1
                return make(
                    .invalid, from: start,
                    text: "unterminated string: expected '\"' before the end of the line")
            default:
                contents.append(byte)
            }
        }
        return make(
            .invalid, from: start, text: "unterminated string: expected '\"' before the end of the file")
    }

    private mutating func lexUnexpected(_ byte: UInt8, from start: Int) -> Token {
        if byte < 0x80 {
            let shown =
                byte >= 0x20 && byte < 0x7F
                ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
            return make(.invalid, from: start, text: "unexpected character \(shown)")
        }
        // Swallow the rest of a UTF-8 sequence so the caret covers one character.
        while let next = peek(), next & 0xC0 == 0x80 { position += 1 }
        return make(
            .invalid, from: start, text: "unexpected non-ASCII character; filters are written in ASCII")
    }
}
