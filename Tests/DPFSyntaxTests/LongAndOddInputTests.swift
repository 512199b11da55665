import DPFSyntax
import Testing

/// Filters as long as a user may write them, and files from other editors: parsed without deep
/// recursion, refused with a diagnostic when too large, never a crash.
@Suite struct LongAndOddInputTests {
    static func chain(_ count: Int, _ term: (Int) -> String, _ joiner: String) -> String {
        "app a {\n    " + (0..<count).map(term).joined(separator: " \(joiner) ") + "\n}\n"
    }

    static func diagnostics(_ text: String) -> [String] {
        do {
            _ = try Parser.parseFile(SourceFile(name: "f", text: text))
            return []
        } catch {
            return error.diagnostics.map { "\($0.line):\($0.column): \($0.message)" }
        }
    }

    @Test func aChainIsOneNodeThatDumpsAndPrintsBack() throws {
        let count = Parser.maximumTerms + 1
        let text = LongAndOddInputTests.chain(count, { "tcp.dport == \($0)" }, "or")
        let file = try Parser.parseFile(SourceFile(name: "f", text: text))
        guard case .expression(let expr) = file.apps[0].filters[0].body, case .or(let operands) = expr.kind
        else {
            Issue.record("expected one n-ary 'or'")
            return
        }
        #expect(operands.count == count)
        #expect(ASTDumper.dump(file).hasPrefix("(file \"f\"\n  (app a\n    (filter _ (or (== tcp.dport 0) "))
        let printed = ASTPrinter.print(file)
        #expect(try Parser.parseFile(SourceFile(name: "g", text: printed)) == file)
    }

    /// Regression: 2,000 `or` terms, 2,500 `and` terms and 2,000 `vlan and` overflowed the stack
    /// (SIGSEGV) in analysis and in the AST dumper; a 100,000-term chain must end cleanly.
    @Test(arguments: [
        ("or", 100_000), ("and", 2_500), ("or", Parser.maximumTerms + 2),
    ])
    func aChainBeyondTheLimitIsADiagnostic(joiner: String, count: Int) {
        let text = LongAndOddInputTests.chain(count, { "tcp.dport != \($0)" }, joiner)
        let diagnostics = LongAndOddInputTests.diagnostics(text)
        #expect(diagnostics.count == 1)
        #expect(
            diagnostics.first?.hasSuffix(
                "filter too large: more than \(Parser.maximumTerms) 'and'/'or' terms; split it into several filters"
            )
                == true)
        #expect(diagnostics.first?.hasPrefix("2:") == true)
    }

    @Test func repeatedVLANIsADiagnostic() {
        let text = "app a {\n    " + String(repeating: "vlan and ", count: 2000) + "tcp\n}\n"
        #expect(LongAndOddInputTests.diagnostics(text).first?.contains("filter too large") == true)
    }

    @Test func theLimitIsPerFilter() throws {
        let half = (0..<(Parser.maximumTerms / 2 + 1)).map { "tcp.dport == \($0)" }.joined(separator: " or ")
        let text = "app a {\n    \(half)\n    \(half)\n}\napp b {\n    \(half)\n}\n"
        #expect(LongAndOddInputTests.diagnostics(text) == [])
    }

    @Test func crLineEndsAndAByteOrderMarkReadLikeLineFeeds() throws {
        let text = "app web-frontend {\n    a: tcp.dport == 80\n    b: udp # note\n    bad ==\n}\n"
        let expected = LongAndOddInputTests.diagnostics(text)
        #expect(expected == ["4:11: expected a value after '==', found end of line"])
        for variant in [
            text.replacingOccurrences("\n", "\r"), text.replacingOccurrences("\n", "\r\n"), "\u{FEFF}" + text,
        ] {
            #expect(LongAndOddInputTests.diagnostics(variant) == expected)
        }
        let good = "\u{FEFF}app a {\r    x: tcp\r    y: udp\r}\r"
        let file = try Parser.parseFile(SourceFile(name: "f", text: good))
        #expect(file.apps[0].filters.map(\.label) == ["x", "y"])
        #expect(SourceFile(name: "f", text: good).lineText(3) == "    y: udp")
    }

    @Test func namesMayHoldHyphens() throws {
        let text =
            "app web-frontend priority 3 {\n    http-alt: tcp.dport == 8080\n    grant http-alt to syn-guard\n}\n"
        let file = try Parser.parseFile(SourceFile(name: "f", text: text))
        #expect(file.apps[0].name == "web-frontend")
        #expect(file.apps[0].filters[0].label == "http-alt")
        #expect(file.apps[0].grants[0].apps == ["syn-guard"])
        #expect(
            LongAndOddInputTests.diagnostics("app -web { tcp }").first?.contains("unexpected character '-'")
                == true)
        #expect(
            LongAndOddInputTests.diagnostics("app web- { tcp }").first?.contains("unexpected character '-'")
                == true)
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
