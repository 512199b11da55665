import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFWire
import Testing

/// Malformed or invalid filters and the exact diagnostic each one gets (message, line, column).
@Suite struct RejectTableTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let source: String
        let expected: String
        var linkType: LinkType = .ethernet
        var testDescription: String { source }
    }

    static let syntax: [Case] = [
        Case(
            source: "app web { tcp.dport == }",
            expected: "1:24: error: expected a value after '==', found '}'"),
        Case(
            source: "app web { tcp.dport 80 }",
            expected: "1:21: error: expected a comparison operator (==, !=, <, <=, >, >=) or 'in', found '80'"
        ),
        Case(source: "app { tcp }", expected: "1:5: error: expected an app name after 'app', found '{'"),
        Case(source: "app web tcp", expected: "1:9: error: expected '{' to open app 'web', found 'tcp'"),
        Case(
            source: "web { tcp }",
            expected: "1:1: error: expected 'app' to start an app declaration, found 'web'"),
        Case(
            source: "app web { tcp",
            expected: "1:14: error: expected '}' to close app 'web', found end of file"),
        Case(
            source: "app web { (tcp and udp }",
            expected: "1:24: error: expected ')' to close the '(' at 1:11, found '}'"),
        Case(
            source: "app web { tcp and }",
            expected:
                "1:19: error: expected a filter expression (a protocol, or a field and a comparison), found '}'"
        ),
        Case(
            source: "app web { tcp.dport == 80 80 }",
            expected: "1:27: error: expected 'and', 'or' or the end of the filter, found '80'"),
        Case(
            source: "app web { eth[12:3] == 0x0800 }",
            expected: "1:18: error: load width must be 1, 2 or 4 bytes, not 3"),
        Case(
            source: "app web { eth[12:2 == 0x0800 }",
            expected: "1:20: error: expected ']' after the offset and width, found '=='"),
        Case(
            source: "app web { eth[70000:1] == 1 }",
            expected: "1:15: error: offset 70000 is too large (at most 65535)"),
        Case(
            source: "app web { tcp.dport == 0x }",
            expected: "1:24: error: '0x' is not a valid hexadecimal number"),
        Case(
            source: "app web { tcp.dport == 99999999999999999999999 }",
            expected: "1:24: error: number '99999999999999999999999' is too large"),
        Case(
            source: "app web { ip4.src == 10.1.2 }",
            expected:
                "1:22: error: '10.1.2' is not a valid IPv4 address (expected four numbers 0-255 separated by dots)"
        ),
        Case(
            source: "app web { ip4.src == 300.1.2.3 }",
            expected:
                "1:22: error: '300.1.2.3' is not a valid IPv4 address (expected four numbers 0-255 separated by dots)"
        ),
        Case(
            source: "app web { ip6.src == 2001:db8:::1 }",
            expected: "1:22: error: '2001:db8:::1' is not a valid IPv6 or MAC address"),
        Case(
            source: "app web { eth.src == 00:11:22:33:44 }",
            expected: "1:22: error: '00:11:22:33:44' is not a valid IPv6 or MAC address"),
        Case(
            source: "app web priority 70000 { tcp }",
            expected: "1:18: error: priority 70000 is out of range 0...65535"),
        Case(
            source: "app web priority 1 priority 2 { tcp }",
            expected: "1:20: error: priority given twice for app 'web'"),
        Case(
            source: "app web priority high { tcp }",
            expected: "1:18: error: expected a number after 'priority', found 'high'"),
        Case(source: "app web tap tap { tcp }", expected: "1:13: error: 'tap' given twice for app 'web'"),
        Case(
            source: "app web { pcap udp }",
            expected: "1:16: error: expected a quoted pcap-filter expression after 'pcap', found 'udp'"),
        Case(
            source: "app web { pcap \"udp port 514\n}",
            expected: "1:16: error: unterminated string: expected '\"' before the end of the line"),
        Case(
            source: "app web { tcp | udp }",
            expected: "1:15: error: unexpected '|'; did you mean '||' or 'or'?"),
        Case(source: "app web { tcp @ udp }", expected: "1:15: error: unexpected character '@'"),
        Case(
            source: "app web { and: tcp }", expected: "1:11: error: 'and' is a keyword and cannot be a label"),
        Case(
            source: "app web { tcp.dport in 80 }",
            expected: "1:27: error: expected '..' (a range) or '/' (a prefix) after the value, found '}'"),
        Case(
            source: "app web { tcp.dport in 80.. }",
            expected: "1:29: error: expected a value after '..', found '}'"),
        Case(
            source: "app web {\n  tcp.dport ==\n  80\n}",
            expected: "2:15: error: expected a value after '==', found end of line"),
        Case(
            source: "app web { tcp.dport == 80 }}",
            expected: "1:28: error: expected 'app' to start an app declaration, found '}'"),
        Case(
            source: "app web { é }",
            expected: "1:11: error: unexpected non-ASCII character; filters are written in ASCII"),
    ]

    static let grants: [Case] = [
        Case(
            source: "app web {\n  tcp\n  grant x to b\n}",
            expected: "3:3: error: grant names 'x', which is not a filter label of app 'web'"),
        Case(
            source: "app web { tcp; grant to b }",
            expected: "1:22: error: expected a filter label or '*' after 'grant', found 'to'"),
        Case(
            source: "app web { tcp; grant * b }",
            expected: "1:24: error: expected 'to' and the apps the grant is for, found 'b'"),
        Case(
            source: "app web { tcp; grant * to }",
            expected: "1:27: error: expected an app name after 'to', found '}'"),
        Case(
            source: "app web { a: tcp; grant a to b c }",
            expected: "1:32: error: expected ',' or the end of the grant, found 'c'"),
    ]

    static let semantic: [Case] = [
        Case(source: "app web { tcp.dprt == 80 }", expected: "1:11: error: unknown field 'tcp.dprt'"),
        Case(
            source: "app web { tpc }",
            expected:
                "1:11: error: unknown protocol 'tpc'; expected one of eth, vlan, arp, ip4, ip6, tcp, udp, icmp4, icmp6"
        ),
        Case(
            source: "app web { tcp.dport }",
            expected: "1:21: error: expected a comparison operator (==, !=, <, <=, >, >=) or 'in', found '}'"),
        Case(
            source: "app web { ipv4[9:1] == 6 }",
            expected:
                "1:11: error: cannot load from 'ipv4'; expected one of eth, arp, ip4, ip6, tcp, udp, icmp4, icmp6"
        ),
        Case(
            source: "app web { vlan[0:2] == 1 }",
            expected:
                "1:11: error: cannot load from 'vlan'; expected one of eth, arp, ip4, ip6, tcp, udp, icmp4, icmp6; use vlan.id, vlan.pcp or eth[...]"
        ),
        Case(
            source: "app web { tcp.dport == 70000 }",
            expected: "1:24: error: value 70000 does not fit in 'tcp.dport' (16 bits, at most 65535)"),
        Case(
            source: "app web { vlan.id == 4096 }",
            expected: "1:22: error: value 4096 does not fit in 'vlan.id' (12 bits, at most 4095)"),
        Case(
            source: "app web { ip4.ttl > 256 }",
            expected: "1:21: error: value 256 does not fit in 'ip4.ttl' (8 bits, at most 255)"),
        Case(
            source: "app web { ip4.src == 2001:db8::1 }",
            expected: "1:22: error: 'ip4.src' is an IPv4 address field; 2001:db8::1 is an IPv6 address"),
        Case(
            source: "app web { ip6.src == 10.0.0.1 }",
            expected:
                "1:22: error: 'ip6.src' is an IPv6 address field; 10.0.0.1 is an IPv4 address (write ::ffff:10.0.0.1 for an IPv4-mapped address)"
        ),
        Case(
            source: "app web { tcp.dport == 10.0.0.1 }",
            expected: "1:24: error: 'tcp.dport' takes a number, not an IPv4 address"),
        Case(
            source: "app web { eth.src == 42 }",
            expected: "1:22: error: 'eth.src' takes a MAC address, not a number"),
        Case(
            source: "app web { ip6.dst == 00:11:22:33:44:55 }",
            expected: "1:22: error: 'ip6.dst' takes an IPv6 address, not a MAC address"),
        Case(
            source: "app web { tcp.flags & 0x1ff == 2 }",
            expected: "1:23: error: mask 0x1ff is wider than 'tcp.flags' (8 bits, at most 255)"),
        Case(
            source: "app web { tcp.flags & 0x02 == 0x04 }",
            expected:
                "1:31: error: value 0x4 has bits outside the mask 0x2, so this comparison is always false"),
        Case(
            source: "app web { tcp.dport in 90..80 }",
            expected: "1:24: error: empty range: 90 is greater than 80"),
        Case(
            source: "app web { ip4.src in 10.1.2.3/8 }",
            expected: "1:22: error: 10.1.2.3/8 has host bits set; did you mean 10.0.0.0/8?"),
        Case(
            source: "app web { ip4.src in 10.0.0.0/33 }",
            expected: "1:22: error: prefix length 33 is too long for an IPv4 address (at most 32)"),
        Case(
            source: "app web { ip6.dst in 2001:db8::1/32 }",
            expected: "1:22: error: 2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?"),
        Case(
            source: "app web { tcp.dport in 10.0.0.0/8 }",
            expected: "1:24: error: a prefix needs an address field; 'tcp.dport' is a number"),
        Case(
            source: "app web { ip6.src < 2001:db8::1 }",
            expected: "1:21: error: '<' cannot order the 128-bit field 'ip6.src'; use == or !="),
        Case(
            source: "app web { eth.src in 00:00:00:00:00:00..00:00:00:00:00:ff }",
            expected: "1:22: error: ranges are not supported on the 48-bit field 'eth.src'"),
        Case(
            source: "app web { ip4.src & 255.0.0.0 in 10.0.0.0/8 }",
            expected: "1:21: error: a mask cannot be combined with a prefix"),
        Case(
            source: "app web { ip6.dst in 10.0.0.0/8 }",
            expected: "1:22: error: 'ip6.dst' needs an IPv6 prefix, not an IPv4 address"),
        Case(source: "app web { }", expected: "1:5: error: app 'web' has no filters"),
        Case(source: "app web { tcp }\napp web { udp }", expected: "2:5: error: duplicate app name 'web'"),
        Case(
            source: "app web {\n  a: tcp\n  a: udp\n}",
            expected: "3:3: error: duplicate filter label 'a' in app 'web'"),
        Case(
            source: "app web { pcap \"udp port 514\" }",
            expected:
                "1:11: error: pcap-filter expressions are not supported yet; write this filter in the DPF language"
        ),
        Case(
            source: "app web { ip4[65530:4] == 1 }",
            expected: "1:11: error: 'ip4[65530:4]' reaches past the 64 KiB packet window"),
        Case(
            source: "app a { eth.src == 00:11:22:33:44:55 }",
            expected: "1:9: error: 'eth.src' is not available on link type raw", linkType: .raw),
        Case(
            source: "app a { vlan }", expected: "1:9: error: 'vlan' is not available on link type linux-sll",
            linkType: .linuxCooked),
        Case(
            source: "app a { eth[0:2] == 1 or ip4 }",
            expected: "1:9: error: 'eth[0:2]' is not available on link type ipv4", linkType: .ipv4),
        Case(
            source: "app a { eth }", expected: "1:9: error: 'eth' is not available on link type raw",
            linkType: .raw),
    ]

    @Test(arguments: syntax + semantic + grants)
    func rejects(_ rejection: Case) {
        let diagnostics = FrontEnd.diagnostics(rejection.source, linkType: rejection.linkType)
        #expect(diagnostics.first == rejection.expected)
        #expect(diagnostics.first?.contains(": error: ") == true)
    }

    @Test func tableIsLargeEnough() {
        #expect(RejectTableTests.syntax.count + RejectTableTests.semantic.count >= 40)
    }

    @Test func suggestionsComeAsNotes() throws {
        let error = try #require(throws: (any Error).self) {
            try FrontEnd.compile("app web { tcp.dprt == 80 or tpc }")
        }
        let rendered = String(describing: error)
        #expect(rendered.contains("note: did you mean 'tcp.dport'?"))
        #expect(!rendered.contains("unknown protocol"), "one error per filter: analysis stops at the first")
    }

    @Test func reportsErrorsFromEveryAppAndFile() {
        let diagnostics = FrontEnd.diagnostics(
            "app a { tcp.dport == 70000 }\napp b { tcp }\napp c { bogus }\napp d { }")
        #expect(
            diagnostics == [
                "1:22: error: value 70000 does not fit in 'tcp.dport' (16 bits, at most 65535)",
                "3:9: error: unknown protocol 'bogus'; expected one of eth, vlan, arp, ip4, ip6, tcp, udp, icmp4, icmp6",
                "4:5: error: app 'd' has no filters",
            ])
    }

    @Test func contradictionsAreWarningsNotErrors() throws {
        let analysis = try FrontEnd.compile(
            "app a { x: tcp.dport == 80 and tcp.dport == 443\n y: ip4 and ip6 }")
        #expect(
            analysis.warnings.map(FrontEnd.format) == [
                "1:12: warning: filter 'a.x' never matches: its conditions contradict each other",
                "2:5: warning: filter 'a.y' never matches: its conditions contradict each other",
            ])
        #expect(analysis.filterSet.apps[0].filters.map(\.tree) == [.reject, .reject])
    }

    /// As in libpcap, a protocol the link cannot carry makes its branch false (`ip6` on an IPv4
    /// link); only link-layer headers the link lacks are errors (above).
    @Test func protocolsTheLinkCannotCarryAreFalse() throws {
        let raw6 = try FrontEnd.compile("app a { icmp4 or icmp6 }", linkType: .ipv6)
        #expect(raw6.warnings.isEmpty)
        #expect(raw6.filterSet.apps[0].filters[0].tree == (try FrontEnd.tree("icmp6", linkType: .ipv6)))

        let analysis = try FrontEnd.compile(
            "app a { x: arp\n y: tcp[0:2] == 1 and ip4.src in 10.0.0.0/8\n z: not ip4 }", linkType: .ipv6)
        #expect(
            analysis.warnings.map(FrontEnd.format) == [
                "1:12: warning: filter 'a.x' never matches: link type ipv6 cannot carry 'arp'",
                "2:5: warning: filter 'a.y' never matches: link type ipv6 cannot carry 'tcp[0:2]', 'ip4.src'",
            ])
        #expect(analysis.filterSet.apps[0].filters.map(\.tree) == [.reject, .reject, .accept])
    }

    /// Thousands of unknown names still get one error each, but "did you mean" only for the first
    /// `maximumSuggestions` (each costs an edit distance to every field name).
    @Test func suggestionsStopAfterTheFirstHundredErrors() throws {
        let count = SemanticAnalyzer.maximumSuggestions + 50
        let text = "app a {\n" + (0..<count).map { "  tcp.dprt\($0 % 10) == 1\n" }.joined() + "}\n"
        let error = try #require(throws: DiagnosticError.self) { try FrontEnd.compile(text) }
        #expect(error.diagnostics.count == count)
        let noted = error.diagnostics.map { !$0.notes.isEmpty }
        #expect(
            noted == Array(repeating: true, count: SemanticAnalyzer.maximumSuggestions)
                + Array(repeating: false, count: 50))
    }
}
