import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFWire

/// Parse and analyse text as the command line does, for tests.
enum FrontEnd {
    static func compile(_ text: String, name: String = "t.dpf", linkType: LinkType = .ethernet)
        throws(DiagnosticError) -> Analysis
    {
        let file = try Parser.parseFile(SourceFile(name: name, text: text))
        return try SemanticAnalyzer.analyze([file], linkType: linkType)
    }

    /// One expression as a normalised tree.
    static func tree(_ expression: String, linkType: LinkType = .ethernet) throws -> FilterTree {
        let source = SourceFile(name: "expr", text: expression)
        return try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: linkType)
    }

    /// Every diagnostic the text produces, as `line:col: severity: message`.
    static func diagnostics(_ text: String, linkType: LinkType = .ethernet) -> [String] {
        do {
            let analysis = try compile(text, linkType: linkType)
            return analysis.warnings.map(format)
        } catch {
            return error.diagnostics.map(format)
        }
    }

    static func format(_ diagnostic: Diagnostic) -> String {
        "\(diagnostic.line):\(diagnostic.column): \(diagnostic.severity.rawValue): \(diagnostic.message)"
    }
}
