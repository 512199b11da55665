import DPFSyntax
import DPFTestSupport
import Testing

/// Printing any AST and parsing the text back gives the same AST.
@Suite struct RoundTripPropertyTests {
    @Test(arguments: 0..<8)
    func printedFilesParseBackToTheSameAST(seed: UInt64) throws {
        var generator = RandomASTs(seed: 0xD9F0 + seed)
        for _ in 0..<250 {
            let file = generator.file()
            let text = ASTPrinter.print(file)
            let reparsed = try Parser.parseFile(SourceFile(name: "printed", text: text))
            #expect(reparsed == file, "\(text)")
            // Printing is a fixed point after one round.
            #expect(ASTPrinter.print(reparsed) == text)
        }
    }

    @Test func printedExpressionsParseBack() throws {
        var generator = RandomASTs(seed: 42)
        for _ in 0..<2000 {
            let expr = generator.expression(depth: 6)
            let text = ASTPrinter.print(expr)
            #expect(try Parser.parseExpression(SourceFile(name: "e", text: text)) == expr, "\(text)")
        }
    }

    @Test func equalityIgnoresSourcePositionsOnly() throws {
        let a = try Parser.parseExpression(SourceFile(name: "a", text: "tcp.dport == 80 and ip4"))
        let b = try Parser.parseExpression(SourceFile(name: "b", text: "  tcp.dport   ==   80\n    and ip4"))
        let c = try Parser.parseExpression(SourceFile(name: "c", text: "tcp.dport == 81 and ip4"))
        #expect(a == b)
        #expect(a != c)
    }
}
