import DPFWire

/// Turns an AST back into filter source. Parsing the printed text gives an equal AST: the printer
/// adds parentheses exactly where precedence and left-associativity need them.
public enum ASTPrinter {
    public static func print(_ file: FilterFile) -> String {
        file.apps.map(print(_:)).joined(separator: "\n")
    }

    public static func print(_ app: AppDecl) -> String {
        var header = "app \(app.name)"
        if let priority = app.priority { header += " priority \(priority)" }
        if app.isTap { header += " tap" }
        var lines = [header + " {"]
        for filter in app.filters { lines.append("    " + print(filter)) }
        for grant in app.grants { lines.append("    " + print(grant)) }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func print(_ filter: FilterDecl) -> String {
        let prefix = filter.label.map { "\($0): " } ?? ""
        switch filter.body {
        case .expression(let expr): return prefix + print(expr)
        case .pcap(let text): return prefix + "pcap " + quote(text)
        }
    }

    public static func print(_ grant: GrantDecl) -> String {
        "grant \(grant.filters.joined(separator: ", ")) to \(grant.apps.joined(separator: ", "))"
    }

    public static func print(_ expr: Expr) -> String { print(expr, context: .or) }

    private enum Precedence: Int, Comparable {
        case or = 1, and, unary, primary
        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private static func precedence(of expr: Expr) -> Precedence {
        switch expr.kind {
        case .or: return .or
        case .and: return .and
        case .not: return .unary
        default: return .primary
        }
    }

    private static func print(_ expr: Expr, context: Precedence) -> String {
        let text: String
        switch expr.kind {
        case .or(let operands):
            // A nested `or` is parenthesised, so the text parses back to the same nodes.
            text = operands.map { print($0, context: .and) }.joined(separator: " or ")
        case .and(let operands):
            text = operands.map { print($0, context: .unary) }.joined(separator: " and ")
        case .not(let operand):
            text = "not " + print(operand, context: .unary)
        case .predicate(let name):
            text = name
        case .comparison(let operand, let op, let value):
            text = print(operand) + " \(op.rawValue) " + print(value)
        case .membership(let operand, .range(let low, let high)):
            text = print(operand) + " in " + print(low) + ".." + print(high)
        case .membership(let operand, .prefix(let address, let length)):
            text = print(operand) + " in " + print(address) + "/\(length)"
        }
        return precedence(of: expr) < context ? "(\(text))" : text
    }

    public static func print(_ operand: OperandExpr) -> String {
        var text: String
        switch operand.target {
        case .field(let name): text = name
        case .raw(let header, let offset, let width): text = "\(header)[\(offset):\(width)]"
        }
        if let mask = operand.mask { text += " & " + print(mask) }
        return text
    }

    public static func print(_ value: Value) -> String {
        switch value.literal {
        case .integer(let number, let hex): return hex ? "0x" + String(number, radix: 16) : String(number)
        case .ipv4(let address): return address.description
        case .ipv6(let address): return address.description
        case .mac(let address): return address.description
        }
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
