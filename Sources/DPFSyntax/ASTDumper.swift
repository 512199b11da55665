/// The stable text form of an AST (`dpf compile --emit ast`): one S-expression per app, no source
/// positions, every value in its canonical spelling.
public enum ASTDumper {
    public static func dump(_ file: FilterFile) -> String {
        var lines = ["(file \"\(file.source.name)\""]
        for app in file.apps {
            var header = "  (app \(app.name)"
            if let priority = app.priority { header += " (priority \(priority))" }
            if app.isTap { header += " (tap)" }
            lines.append(header)
            for filter in app.filters {
                let label = filter.label ?? "_"
                switch filter.body {
                case .expression(let expr): lines.append("    (filter \(label) \(dump(expr)))")
                case .pcap(let text): lines.append("    (filter \(label) (pcap \(ASTPrinter.quote(text))))")
                }
            }
            for grant in app.grants {
                lines.append(
                    "    (grant (\(grant.filters.joined(separator: " "))) (\(grant.apps.joined(separator: " "))))"
                )
            }
            lines[lines.count - 1] += ")"
        }
        lines[lines.count - 1] += ")"
        return lines.joined(separator: "\n") + "\n"
    }

    public static func dump(_ expr: Expr) -> String {
        switch expr.kind {
        case .and(let operands): return "(and " + operands.map(dump).joined(separator: " ") + ")"
        case .or(let operands): return "(or " + operands.map(dump).joined(separator: " ") + ")"
        case .not(let operand): return "(not \(dump(operand)))"
        case .predicate(let name): return name
        case .comparison(let operand, let op, let value):
            return "(\(op.rawValue) \(dump(operand)) \(ASTPrinter.print(value)))"
        case .membership(let operand, .range(let low, let high)):
            return "(in \(dump(operand)) (range \(ASTPrinter.print(low)) \(ASTPrinter.print(high))))"
        case .membership(let operand, .prefix(let address, let length)):
            return "(in \(dump(operand)) (prefix \(ASTPrinter.print(address)) \(length)))"
        }
    }

    static func dump(_ operand: OperandExpr) -> String {
        var text: String
        switch operand.target {
        case .field(let name): text = name
        case .raw(let header, let offset, let width): text = "(load \(header) \(offset) \(width))"
        }
        if let mask = operand.mask { text = "(& \(text) \(ASTPrinter.print(mask)))" }
        return text
    }
}
