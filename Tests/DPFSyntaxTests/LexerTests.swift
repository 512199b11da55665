import DPFSyntax
import Testing

@Suite struct LexerTests {
    func kinds(_ text: String) -> [String] {
        Lexer.tokenize(SourceFile(name: "t", text: text)).dropLast().map { token in
            switch token.kind {
            case .word: return "w(\(token.text))"
            case .label: return "label(\(token.text))"
            case .string: return "s(\(token.text))"
            case .newline: return "nl"
            case .invalid: return "invalid"
            default: return token.text
            }
        }
    }

    @Test func labelsAreNotAddresses() {
        #expect(kinds("http: tcp.dport == 80") == ["label(http)", "w(tcp.dport)", "==", "w(80)"])
        #expect(kinds("http:tcp.dport==80") == ["label(http)", "w(tcp.dport)", "==", "w(80)"])
        #expect(kinds("eth.src == de:ad:be:ef:00:01") == ["w(eth.src)", "==", "w(de:ad:be:ef:00:01)"])
        #expect(kinds("ip6.dst in fe80::/10") == ["w(ip6.dst)", "w(in)", "w(fe80::)", "/", "w(10)"])
        #expect(kinds("ip6.src == ::1") == ["w(ip6.src)", "==", "w(::1)"])
    }

    @Test func rangesAndRawLoads() {
        #expect(kinds("tcp.dport in 1024..2048") == ["w(tcp.dport)", "w(in)", "w(1024)", "..", "w(2048)"])
        #expect(
            kinds("ip4.src in 10.0.0.1..10.0.0.9") == [
                "w(ip4.src)", "w(in)", "w(10.0.0.1)", "..", "w(10.0.0.9)",
            ])
        #expect(
            kinds("eth[12:2] == 0x0800") == ["w(eth)", "[", "w(12)", ":", "w(2)", "]", "==", "w(0x0800)"])
    }

    @Test func operatorsInBothSpellings() {
        #expect(kinds("!a && b || c") == ["!", "w(a)", "&&", "w(b)", "||", "w(c)"])
        #expect(
            kinds("a<=1 a>=2 a<3 a>4 a!=5 a=6 x&1") == [
                "w(a)", "<=", "w(1)", "w(a)", ">=", "w(2)", "w(a)", "<", "w(3)", "w(a)", ">", "w(4)", "w(a)",
                "!=", "w(5)", "w(a)", "=",
                "w(6)", "w(x)", "&", "w(1)",
            ])
    }

    @Test func commentsStringsAndLineBreaks() {
        #expect(kinds("tcp # a comment\nudp") == ["w(tcp)", "nl", "w(udp)"])
        #expect(kinds("pcap \"udp port 514 and \\\"x\\\"\"") == ["w(pcap)", "s(udp port 514 and \"x\")"])
        #expect(kinds("\"unterminated\nnext") == ["invalid", "nl", "w(next)"])
        #expect(kinds("a | b") == ["w(a)", "invalid", "w(b)"])
        #expect(kinds("a $ b") == ["w(a)", "invalid", "w(b)"])
    }

    @Test func everyTokenHasItsSourceRange() {
        let source = SourceFile(name: "t", text: "app web {\n  x: tcp\n}")
        for token in Lexer.tokenize(source) where token.kind == .word {
            #expect(source.text(of: token.range) == token.text)
        }
    }
}
