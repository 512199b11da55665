import DPFSyntax
import DPFWire
import Testing

@Suite struct ParserTests {
    func dump(_ text: String) throws -> String {
        try ASTDumper.dump(Parser.parseFile(SourceFile(name: "t.dpf", text: text)))
    }

    func expression(_ text: String) throws -> String {
        try ASTDumper.dump(Parser.parseExpression(SourceFile(name: "e", text: text)))
    }

    @Test func parsesTheDesignExample() throws {
        let text = """
            # filters/demo.dpf — a file declares apps; each app binds one or more filters
            app web priority 10 {
                http:  tcp.dport == 80 and ip4.dst in 10.1.0.0/16
                https: tcp.dport == 443
            }
            app dns {
                udp.dport == 53 or udp.sport == 53
            }
            app sniffer tap {                      # a tap gets copies and never steals packets
                icmp4 or icmp6
            }
            app legacy {
                pcap "udp port 514 and not host 10.0.0.1"   # tcpdump's pcap-filter syntax, same engine
            }
            """
        #expect(
            try dump(text) == """
                (file "t.dpf"
                  (app web (priority 10)
                    (filter http (and (== tcp.dport 80) (in ip4.dst (prefix 10.1.0.0 16))))
                    (filter https (== tcp.dport 443)))
                  (app dns
                    (filter _ (or (== udp.dport 53) (== udp.sport 53))))
                  (app sniffer (tap)
                    (filter _ (or icmp4 icmp6)))
                  (app legacy
                    (filter _ (pcap "udp port 514 and not host 10.0.0.1"))))

                """)
    }

    @Test func precedenceNotThenAndThenOr() throws {
        #expect(try expression("a or b and not c") == "(or a (and b (not c)))")
        #expect(try expression("not a and b") == "(and (not a) b)")
        #expect(try expression("(a or b) and c") == "(and (or a b) c)")
        #expect(try expression("a and b and c") == "(and a b c)")
        #expect(try expression("a and (b and c) and d") == "(and a (and b c) d)")
        #expect(try expression("a or b or c and d or e") == "(or a b (and c d) e)")
        #expect(try expression("! a && b || c") == "(or (and (not a) b) c)")
    }

    @Test func operandsValuesAndSets() throws {
        #expect(try expression("tcp[13:1] & 0x02 != 0") == "(!= (& (load tcp 13 1) 0x2) 0)")
        #expect(try expression("(tcp.flags & 0x12) == 0x02") == "(== (& tcp.flags 0x12) 0x2)")
        #expect(try expression("ip4[9] == 6") == "(== (load ip4 9 1) 6)")
        #expect(try expression("tcp.dport in 1024..65535") == "(in tcp.dport (range 1024 65535))")
        #expect(try expression("ip6.dst in 2001:DB8::/32") == "(in ip6.dst (prefix 2001:db8:: 32))")
        #expect(try expression("eth.src == 00:1B:21:3C:4D:5E") == "(== eth.src 00:1b:21:3c:4d:5e)")
        #expect(try expression("ip4.ttl = 64") == "(== ip4.ttl 64)")
    }

    @Test func filtersContinueOnTheNextLineAfterAnOperatorOrBeforeOne() throws {
        let text = """
            app a {
                x: tcp and
                   udp
                y: tcp
                   or udp
                z: (tcp
                    and udp)
                tcp; udp
            }
            """
        #expect(
            try dump(text) == """
                (file "t.dpf"
                  (app a
                    (filter x (and tcp udp))
                    (filter y (or tcp udp))
                    (filter z (and tcp udp))
                    (filter _ tcp)
                    (filter _ udp)))

                """)
    }

    @Test func reportsEveryIndependentError() {
        let source = SourceFile(name: "t.dpf", text: "app a {\n  tcp ==\n  udp\n  (ip4\n}\napp b { ) }\n")
        #expect(throws: DiagnosticError.self) { try Parser.parseFile(source) }
        do {
            _ = try Parser.parseFile(source)
        } catch {
            #expect(error.diagnostics.map { "\($0.line):\($0.column)" } == ["2:9", "5:1", "6:9"])
        }
    }

    @Test func deepNestingIsRefusedNotOverflowed() {
        let text = String(repeating: "(", count: 5000) + "tcp" + String(repeating: ")", count: 5000)
        #expect(throws: DiagnosticError.self) {
            try Parser.parseExpression(SourceFile(name: "e", text: text))
        }
        let nots = String(repeating: "not ", count: 5000) + "tcp"
        #expect(throws: DiagnosticError.self) {
            try Parser.parseExpression(SourceFile(name: "e", text: nots))
        }
    }
}
