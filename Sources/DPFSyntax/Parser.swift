import DPFWire

/// Recursive-descent parser for the filter language (grammar in README.md).
///
/// Filters end at a line break or `;`, except inside parentheses and when the next line starts with
/// `and`/`or`. On an error the parser records a diagnostic, skips to the next filter or app, and
/// goes on, so one run reports every independent mistake.
public struct Parser {
    public static let protocolPredicates: Set<String> = [
        "eth", "vlan", "arp", "ip4", "ip6", "tcp", "udp", "icmp4", "icmp6",
    ]
    static let keywords: Set<String> = ["and", "or", "not", "in", "app", "priority", "tap", "pcap", "grant"]
    public static let maximumPriority = 65535
    /// Deeper nesting is refused rather than risking the stack on hostile input.
    public static let maximumNesting = 200
    /// The most `and`/`or` operators one filter may join. Chains cost no stack (they are n-ary
    /// nodes), but later stages do work per term, so a runaway filter is refused up front.
    public static let maximumTerms = 1_000

    private let source: SourceFile
    private let tokens: [Token]
    private var index = 0
    private var parenDepth = 0
    private var nesting = 0
    /// `and`/`or` operators in the filter being parsed.
    private var terms = 0
    private(set) var diagnostics: [Diagnostic] = []

    struct Failure: Error {}

    public init(_ source: SourceFile) {
        self.source = source
        tokens = Lexer.tokenize(source)
    }

    /// Parses a whole filter file, or throws every diagnostic found.
    public static func parseFile(_ source: SourceFile) throws(DiagnosticError) -> FilterFile {
        var parser = Parser(source)
        let file = parser.parseFile()
        if !parser.diagnostics.isEmpty { throw DiagnosticError(parser.diagnostics) }
        return file
    }

    /// Parses one filter expression (no apps, no labels), as `dpf match` and tests use.
    public static func parseExpression(_ source: SourceFile) throws(DiagnosticError) -> Expr {
        var parser = Parser(source)
        do {
            parser.skipSeparators()
            let expr = try parser.parseExpression()
            parser.skipSeparators()
            if parser.current.kind != .endOfFile {
                try parser.fail("expected end of expression, found \(parser.describe(parser.current))")
            }
            return expr
        } catch {
            throw DiagnosticError(parser.diagnostics)
        }
    }

    // MARK: Token access

    private var current: Token {
        var lookahead = index
        if parenDepth > 0 { while tokens[lookahead].kind == .newline { lookahead += 1 } }
        return tokens[lookahead]
    }

    @discardableResult
    private mutating func advance() -> Token {
        if parenDepth > 0 { while tokens[index].kind == .newline { index += 1 } }
        let token = tokens[index]
        if token.kind != .endOfFile { index += 1 }
        return token
    }

    private mutating func skipSeparators() {
        while tokens[index].kind == .newline || tokens[index].kind == .semicolon { index += 1 }
    }

    /// The next token that is not a line break, without consuming anything.
    private func peekPastNewlines() -> Token {
        var lookahead = index
        while tokens[lookahead].kind == .newline { lookahead += 1 }
        return tokens[lookahead]
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .endOfFile: return "end of file"
        case .newline: return "end of line"
        case .string: return "a string"
        case .label: return "label '\(token.text):'"
        case .invalid: return token.text
        default: return "'\(token.text)'"
        }
    }

    private mutating func fail(_ message: String, at range: SourceRange? = nil, notes: [String] = [])
        throws(Failure) -> Never
    {
        let token = current
        if token.kind == .invalid && range == nil {
            diagnostics.append(Diagnostic(.error, token.text, at: token.range, in: source))
        } else {
            diagnostics.append(
                Diagnostic(.error, message, at: range ?? token.range, in: source, notes: notes))
        }
        throw Failure()
    }

    private mutating func expect(_ kind: Token.Kind, _ what: String) throws(Failure) -> Token {
        guard current.kind == kind else { try fail("expected \(what), found \(describe(current))") }
        return advance()
    }

    // MARK: File and apps

    mutating func parseFile() -> FilterFile {
        var apps: [AppDecl] = []
        while true {
            skipSeparators()
            if current.kind == .endOfFile { break }
            do {
                guard current.isWord("app") else {
                    try fail("expected 'app' to start an app declaration, found \(describe(current))")
                }
                if let app = try parseApp() { apps.append(app) }
            } catch {
                recoverToNextApp()
            }
        }
        return FilterFile(apps: apps, source: source)
    }

    private mutating func recoverToNextApp() {
        parenDepth = 0
        nesting = 0
        while current.kind != .endOfFile {
            let startsLine = index == 0 || [.newline, .rightBrace].contains(tokens[index - 1].kind)
            if current.isWord("app") && startsLine { return }
            advance()
        }
    }

    private mutating func parseApp() throws(Failure) -> AppDecl? {
        let appKeyword = advance()
        let name = current
        guard name.kind == .word, isIdentifier(name.text), !Parser.keywords.contains(name.text) else {
            try fail("expected an app name after 'app', found \(describe(name))")
        }
        advance()
        var priority: Int?
        var isTap = false
        while true {
            if current.isWord("priority") {
                let keyword = advance()
                if priority != nil {
                    try fail("priority given twice for app '\(name.text)'", at: keyword.range)
                }
                priority = try parsePriority()
            } else if current.isWord("tap") {
                let keyword = advance()
                if isTap { try fail("'tap' given twice for app '\(name.text)'", at: keyword.range) }
                isTap = true
            } else {
                break
            }
        }
        while tokens[index].kind == .newline { index += 1 }
        _ = try expect(.leftBrace, "'{' to open app '\(name.text)'")
        let (filters, grants) = parseFilters(appName: name.text)
        guard current.kind == .rightBrace else {
            try fail("expected '}' to close app '\(name.text)', found \(describe(current))")
        }
        let close = advance()
        return AppDecl(
            name: name.text, priority: priority, isTap: isTap, filters: filters, grants: grants,
            nameRange: name.range,
            range: SourceRange(start: appKeyword.range.start, end: close.range.end))
    }

    private mutating func parsePriority() throws(Failure) -> Int {
        let token = current
        let value: UInt64
        switch integerWord(token) {
        case .success(let number)?: value = number
        case .failure(let error)?: try fail(error.message, at: token.range)
        case nil: try fail("expected a number after 'priority', found \(describe(token))")
        }
        guard value <= UInt64(Parser.maximumPriority) else {
            try fail("priority \(value) is out of range 0...\(Parser.maximumPriority)", at: token.range)
        }
        advance()
        return Int(value)
    }

    private mutating func parseFilters(appName: String) -> ([FilterDecl], [GrantDecl]) {
        var filters: [FilterDecl] = []
        var grants: [GrantDecl] = []
        while true {
            skipSeparators()
            if current.kind == .rightBrace || current.kind == .endOfFile
                || (current.isWord("app") && parenDepth == 0)
            {
                return (filters, grants)
            }
            do {
                if current.isWord("grant") {
                    grants.append(try parseGrant())
                } else {
                    filters.append(try parseFilter())
                }
            } catch {
                recoverToNextFilter()
            }
        }
    }

    /// `grant LABEL[, LABEL]... to APP[, APP]...`, or `grant * to ...`.
    private mutating func parseGrant() throws(Failure) -> GrantDecl {
        let keyword = advance()
        let filters: [String]
        if current.kind == .star {
            advance()
            filters = ["*"]
        } else {
            if current.isWord("to") { try fail("expected a filter label or '*' after 'grant', found 'to'") }
            filters = try parseNameList("a filter label or '*' after 'grant'")
        }
        guard current.isWord("to") else {
            try fail("expected 'to' and the apps the grant is for, found \(describe(current))")
        }
        advance()
        let apps = try parseNameList("an app name after 'to'")
        guard [.newline, .semicolon, .rightBrace, .endOfFile].contains(tokens[index].kind) else {
            try fail("expected ',' or the end of the grant, found \(describe(current))")
        }
        return GrantDecl(
            filters: filters, apps: apps,
            range: SourceRange(start: keyword.range.start, end: tokens[index - 1].range.end))
    }

    private mutating func parseNameList(_ what: String) throws(Failure) -> [String] {
        var names: [String] = []
        repeat {
            if !names.isEmpty { advance() }
            let token = current
            guard token.kind == .word, isIdentifier(token.text), !token.text.contains("."),
                !Parser.keywords.contains(token.text)
            else {
                try fail("expected \(what), found \(describe(token))")
            }
            names.append(advance().text)
        } while current.kind == .comma
        return names
    }

    private mutating func recoverToNextFilter() {
        parenDepth = 0
        nesting = 0
        while ![.newline, .semicolon, .rightBrace, .endOfFile].contains(tokens[index].kind) { index += 1 }
    }

    private mutating func parseFilter() throws(Failure) -> FilterDecl {
        terms = 0
        var label: Token?
        if current.kind == .label {
            label = advance()
            if Parser.keywords.contains(label!.text) {
                try fail("'\(label!.text)' is a keyword and cannot be a label", at: label!.range)
            }
            while tokens[index].kind == .newline { index += 1 }
        }
        let start = label?.range.start ?? current.range.start
        let body: FilterDecl.Body
        if current.isWord("pcap") {
            advance()
            let text = try expect(.string, "a quoted pcap-filter expression after 'pcap'")
            body = .pcap(text.text)
        } else {
            body = .expression(try parseExpression())
        }
        guard [.newline, .semicolon, .rightBrace, .endOfFile].contains(tokens[index].kind) else {
            try fail("expected 'and', 'or' or the end of the filter, found \(describe(current))")
        }
        let end = tokens[max(0, index - 1)].range.end
        return FilterDecl(
            label: label?.text, body: body, labelRange: label?.range,
            range: SourceRange(start: start, end: end))
    }

    // MARK: Expressions

    mutating func parseExpression() throws(Failure) -> Expr {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Parser.maximumNesting {
            try fail("expression nested too deeply (more than \(Parser.maximumNesting) levels)")
        }
        var operands = [try parseConjunction()]
        while continues(with: [.orOr], keyword: "or") {
            try countTerm()
            operands.append(try parseConjunction())
        }
        return chain(operands, Expr.Kind.or)
    }

    private mutating func parseConjunction() throws(Failure) -> Expr {
        var operands = [try parseUnary()]
        while continues(with: [.andAnd], keyword: "and") {
            try countTerm()
            operands.append(try parseUnary())
        }
        return chain(operands, Expr.Kind.and)
    }

    /// One operand as itself, several as one n-ary node spanning them all.
    private func chain(_ operands: [Expr], _ kind: ([Expr]) -> Expr.Kind) -> Expr {
        guard operands.count > 1 else { return operands[0] }
        return Expr(kind(operands), range: operands[0].range.union(operands[operands.count - 1].range))
    }

    /// Counts the operators of the filter being parsed; beyond `maximumTerms` the filter is refused.
    private mutating func countTerm() throws(Failure) {
        terms += 1
        if terms > Parser.maximumTerms {
            try fail(
                "filter too large: more than \(Parser.maximumTerms) 'and'/'or' terms; split it into several filters",
                at: tokens[index - 1].range)
        }
    }

    /// Consumes a binary operator if one follows, possibly at the start of the next line; also skips
    /// line breaks after it.
    private mutating func continues(with kinds: [Token.Kind], keyword: String) -> Bool {
        let next = peekPastNewlines()
        guard kinds.contains(next.kind) || next.isWord(keyword) else { return false }
        while tokens[index].kind == .newline { index += 1 }
        advance()
        while tokens[index].kind == .newline { index += 1 }
        return true
    }

    private mutating func parseUnary() throws(Failure) -> Expr {
        if current.kind == .bang || current.isWord("not") {
            let keyword = advance()
            while tokens[index].kind == .newline { index += 1 }
            nesting += 1
            defer { nesting -= 1 }
            if nesting > Parser.maximumNesting {
                try fail("expression nested too deeply (more than \(Parser.maximumNesting) levels)")
            }
            let operand = try parseUnary()
            return Expr(.not(operand), range: keyword.range.union(operand.range))
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(Failure) -> Expr {
        let token = current
        switch token.kind {
        case .leftParen:
            if let comparison = try parseParenthesizedOperandComparison() { return comparison }
            advance()
            parenDepth += 1
            let inner = try parseExpression()
            guard current.kind == .rightParen else {
                try fail(
                    "expected ')' to close the '(' at \(source.location(of: token.range.start)), found \(describe(current))"
                )
            }
            parenDepth -= 1
            let close = advance()
            return Expr(inner.kind, range: SourceRange(start: token.range.start, end: close.range.end))
        case .word where !Parser.keywords.contains(token.text) && isIdentifier(token.text):
            let after = tokens[index + 1]
            if after.kind == .leftBracket || after.isComparison || after.kind == .ampersand
                || after.isWord("in") || token.text.contains(".")
            {
                let operand = try parseOperand()
                return try parseComparison(operand)
            }
            advance()
            return Expr(.predicate(token.text), range: token.range)
        case .word where Parser.keywords.contains(token.text):
            try fail("expected a filter expression, found keyword '\(token.text)'")
        default:
            try fail(
                "expected a filter expression (a protocol, or a field and a comparison), found \(describe(token))"
            )
        }
    }

    /// `(field & MASK) == VALUE`: a parenthesised operand rather than a parenthesised expression.
    private mutating func parseParenthesizedOperandComparison() throws(Failure) -> Expr? {
        let saved = (index, parenDepth, diagnostics.count)
        advance()
        parenDepth += 1
        guard current.kind == .word, !Parser.keywords.contains(current.text), isIdentifier(current.text),
            let operand = try? parseOperand(), current.kind == .rightParen
        else {
            (index, parenDepth) = (saved.0, saved.1)
            diagnostics.removeSubrange(saved.2...)
            return nil
        }
        parenDepth -= 1
        let close = advance()
        guard current.isComparison || current.isWord("in") else {
            (index, parenDepth) = (saved.0, saved.1)
            return nil
        }
        var widened = operand
        widened.range = SourceRange(start: tokens[saved.0].range.start, end: close.range.end)
        return try parseComparison(widened)
    }

    private mutating func parseOperand() throws(Failure) -> OperandExpr {
        let name = advance()
        var target = OperandExpr.Target.field(name.text)
        var end = name.range.end
        if current.kind == .leftBracket {
            advance()
            let offset = try parseSmallInteger("an offset", limit: PacketLoad.window - 1)
            var width = 1
            if current.kind == .colon {
                advance()
                let widthToken = current
                width = try parseSmallInteger("a width", limit: Int.max)
                guard [1, 2, 4].contains(width) else {
                    try fail("load width must be 1, 2 or 4 bytes, not \(width)", at: widthToken.range)
                }
            }
            let close = try expect(.rightBracket, "']' after the offset and width")
            end = close.range.end
            target = .raw(header: name.text, offset: offset, width: width)
        }
        var mask: Value?
        if current.kind == .ampersand {
            advance()
            let value = try parseValue(after: "'&'")
            mask = value
            end = value.range.end
        }
        return OperandExpr(target, mask: mask, range: SourceRange(start: name.range.start, end: end))
    }

    private mutating func parseSmallInteger(_ what: String, limit: Int) throws(Failure) -> Int {
        let token = current
        let value: UInt64
        switch integerWord(token) {
        case .success(let number)?: value = number
        case .failure(let error)?: try fail(error.message, at: token.range)
        case nil: try fail("expected \(what), found \(describe(token))")
        }
        guard value <= UInt64(limit) else {
            try fail(
                "\(what.dropFirst(what.hasPrefix("an") ? 3 : 2)) \(value) is too large (at most \(limit))",
                at: token.range)
        }
        advance()
        return Int(value)
    }

    private mutating func parseComparison(_ operand: OperandExpr) throws(Failure) -> Expr {
        if current.isWord("in") {
            advance()
            let low = try parseValue(after: "'in'")
            if current.kind == .dotDot {
                advance()
                let high = try parseValue(after: "'..'")
                return Expr(.membership(operand, .range(low, high)), range: operand.range.union(high.range))
            }
            if current.kind == .slash {
                advance()
                let lengthToken = current
                let length = try parseSmallInteger("a prefix length", limit: 128)
                return Expr(
                    .membership(operand, .prefix(low, length: length)),
                    range: operand.range.union(lengthToken.range))
            }
            try fail("expected '..' (a range) or '/' (a prefix) after the value, found \(describe(current))")
        }
        guard current.isComparison else {
            if case .field(let name) = operand.target, !name.contains(".") {
                try fail("expected a comparison after '\(name)'")
            }
            try fail(
                "expected a comparison operator (==, !=, <, <=, >, >=) or 'in', found \(describe(current))")
        }
        let op = advance()
        let comparison = ComparisonOperator(rawValue: op.kind == .equal ? "==" : op.text)!
        let value = try parseValue(after: "'\(comparison.rawValue)'")
        return Expr(.comparison(operand, comparison, value), range: operand.range.union(value.range))
    }

    private mutating func parseValue(after what: String) throws(Failure) -> Value {
        let token = current
        guard token.kind == .word else {
            try fail("expected a value after \(what), found \(describe(token))")
        }
        switch Parser.classifyValue(token.text) {
        case .success(let literal):
            advance()
            return Value(literal, range: token.range)
        case .failure(let error):
            try fail(error.message, at: token.range)
        }
    }

    // MARK: Words

    private func isIdentifier(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(first >= 48 && first <= 57) else { return false }
        return !text.contains(":") && !text.hasSuffix(".") && !text.contains("..")
    }

    /// Reads a word in value position as a number or an address; a message if it is neither.
    static func classifyValue(_ text: String) -> Result<Value.Literal, ValueError> {
        if text.contains(":") {
            let groups = text.split(separator: ":", omittingEmptySubsequences: false)
            if groups.count == 6, groups.allSatisfy({ (1...2).contains($0.count) }),
                let mac = MACAddress(text)
            {
                return .success(.mac(mac))
            }
            if let address = IPv6Address(text) { return .success(.ipv6(address)) }
            return .failure(ValueError("'\(text)' is not a valid IPv6 or MAC address"))
        }
        if text.contains(".") {
            if let address = IPv4Address(text) { return .success(.ipv4(address)) }
            return .failure(
                ValueError(
                    "'\(text)' is not a valid IPv4 address (expected four numbers 0-255 separated by dots)"))
        }
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let digits = text.dropFirst(2)
            guard !digits.isEmpty, digits.utf8.allSatisfy(Lexer.isHexDigit) else {
                return .failure(ValueError("'\(text)' is not a valid hexadecimal number"))
            }
            guard let value = UInt64(digits, radix: 16) else {
                return .failure(ValueError("number '\(text)' is too large"))
            }
            return .success(.integer(value, hex: true))
        }
        if text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let value = UInt64(text) else {
                return .failure(ValueError("number '\(text)' is too large"))
            }
            return .success(.integer(value, hex: false))
        }
        return .failure(
            ValueError("expected a value (a number, or an IPv4, IPv6 or MAC address), found '\(text)'"))
    }

    struct ValueError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// A word that must be a plain integer (offsets, widths, priorities); `nil` if it is not one.
    private func integerWord(_ token: Token) -> Result<UInt64, ValueError>? {
        guard token.kind == .word else { return nil }
        switch Parser.classifyValue(token.text) {
        case .success(.integer(let value, _)): return .success(value)
        case .failure(let error) where token.text.first?.isNumber == true: return .failure(error)
        default: return nil
        }
    }
}
