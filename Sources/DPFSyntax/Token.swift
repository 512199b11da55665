/// A lexical token. Words cover identifiers, keywords, numbers and addresses alike: which one a word
/// is depends on where it stands, so the parser classifies it.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case word
        /// `name:` introducing a filter label; the text excludes the colon.
        case label
        case string
        case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
        case colon, semicolon, comma, dotDot, slash, star
        case equal, notEqual, less, lessEqual, greater, greaterEqual
        case ampersand, andAnd, orOr, bang
        case newline
        /// Text the lexer could not read; `text` holds the message.
        case invalid
        case endOfFile
    }

    public let kind: Kind
    /// The token's text (a string's decoded contents, an invalid token's message).
    public let text: String
    public let range: SourceRange

    public var isComparison: Bool {
        switch kind {
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: return true
        default: return false
        }
    }

    public func isWord(_ keyword: String) -> Bool { kind == .word && text == keyword }
}
