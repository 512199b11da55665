import DPFSyntax
import DPFTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Any bytes given as a filter file parse or produce diagnostics: never a crash or a hang.
@Suite struct RobustnessTests {
    static let seeds = [
        "app web priority 10 {\n http: tcp.dport == 80 and ip4.dst in 10.1.0.0/16\n https: tcp.dport == 443\n}\n",
        "app v { vlan.id == 100 and (udp.dport in 1..2 or not eth.src == 00:11:22:33:44:55) }\n",
        "app t tap { tcp[13:1] & 0x05 != 0; ip6.dst in 2001:db8::/32 }\napp p { pcap \"udp port 514\" }\n",
    ]

    @Test func everyTokenConsumesInput() {
        // Regression: "[." once lexed as an endless run of empty words.
        for text in ["[.", "[:", "[..", "eth[.]", "[", "]", "::", ":", "..", "."] {
            let tokens = Lexer.tokenize(SourceFile(name: "t", text: text))
            #expect(tokens.count <= text.utf8.count + 1, "\(text)")
        }
    }

    @Test func randomAndMutatedInputsNeverCrashOrHang() {
        var generator = SeededGenerator(seed: 7)
        let deadline = monotonicSeconds() + 2.0
        var inputs = 0
        while monotonicSeconds() < deadline {
            let seed = generator.pick(RobustnessTests.seeds)
            let bytes = generator.chance(0.3) ? randomBytes(&generator) : generator.mutated(seed)
            let source = SourceFile(name: "fuzz", bytes: bytes)
            do {
                _ = try Parser.parseFile(source)
            } catch {
                for diagnostic in error.diagnostics {
                    #expect(diagnostic.line >= 1 && diagnostic.column >= 1)
                    #expect(!diagnostic.message.isEmpty)
                }
            }
            inputs += 1
        }
        #expect(inputs > 100)
    }

    func randomBytes(_ generator: inout SeededGenerator) -> [UInt8] {
        (0..<Int.random(in: 0...200, using: &generator)).map { _ in
            UInt8.random(in: 0...255, using: &generator)
        }
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
