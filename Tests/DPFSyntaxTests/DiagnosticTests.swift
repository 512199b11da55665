import DPFSyntax
import Testing

@Suite struct DiagnosticTests {
    @Test func rendersFileLineColumnSourceAndCaret() throws {
        let source = SourceFile(
            name: "filters/web.dpf", text: "app web {\n    http:  tcp.dport == 80 and\n}\n")
        let error = try #require(throws: DiagnosticError.self) { try Parser.parseFile(source) }
        let diagnostic = error.diagnostics[0]
        #expect(
            diagnostic.headline
                == "filters/web.dpf:3:1: error: expected a filter expression (a protocol, or a field and a comparison), found '}'"
        )
        #expect(
            diagnostic.rendered
                == "filters/web.dpf:3:1: error: expected a filter expression (a protocol, or a field and a comparison), found '}'\n    }\n    ^"
        )
    }

    @Test func caretUnderlinesTheWholeToken() throws {
        let source = SourceFile(name: "f", text: "app a {\n\tx: ip4.src == 10.1.2\n}")
        let error = try #require(throws: DiagnosticError.self) { try Parser.parseFile(source) }
        #expect(
            error.diagnostics[0].rendered == """
                f:2:16: error: '10.1.2' is not a valid IPv4 address (expected four numbers 0-255 separated by dots)
                    \tx: ip4.src == 10.1.2
                    \t              ^~~~~~
                """)
    }

    @Test func locationsCountLinesAndColumnsFromOne() {
        let source = SourceFile(name: "f", text: "ab\ncd\r\nef")
        #expect(source.location(of: 0).description == "1:1")
        #expect(source.location(of: 4).description == "2:2")
        #expect(source.location(of: 7).description == "3:1")
        #expect(source.lineText(2) == "cd")
        #expect(source.location(of: 100).description == "3:3")
    }
}
