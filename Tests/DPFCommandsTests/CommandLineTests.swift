import DPFCapture
import DPFCommands
import DPFTestSupport
import DPFWire
import Foundation
import Testing

@Suite struct CommandLineTests {
    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    func dpf(_ arguments: String...) -> Run {
        let console = Console.capturing()
        let status = DPFMain.run(arguments, console: console)
        return Run(status: status, out: console.standardOutput, err: console.standardError)
    }

    func example(_ name: String) -> String { "\(Fixtures.filtersDirectory)/\(name)" }

    func temporaryFilterFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "dpf-cli-\(UUID().uuidString).dpf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func emitTreeMatchesTheGoldenDump() throws {
        let run = dpf("compile", example("web.dpf"), "--emit", "tree")
        #expect(run.status == 0)
        #expect(run.err.isEmpty)
        let golden = try String(
            contentsOfFile: Fixtures.packageRoot + "/Tests/DPFAnalysisTests/Golden/web.tree", encoding: .utf8)
        #expect(run.out == golden)
    }

    @Test func compilesEveryExampleTogether() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }.map(example)
        let run = DPFMain.run(["compile"] + files, console: Console.capturing())
        #expect(run == 0)
        let summary = dpf("compile", example("web.dpf"), example("dns.dpf"))
        #expect(summary.out == "ok: 3 apps, 4 filters for link type ethernet\n")
    }

    @Test func badFiltersExitOneWithTheDiagnosticFirst() throws {
        let path = try temporaryFilterFile("app web {\n    http: tcp.dprt == 80\n}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = dpf("compile", path, "--emit", "tree")
        #expect(run.status == 1)
        #expect(run.out.isEmpty)
        let lines = run.err.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "\(path):2:11: error: unknown field 'tcp.dprt'")
        #expect(lines[1] == "        http: tcp.dprt == 80")
        #expect(lines[2] == "              ^~~~~~~~")
        #expect(lines[3] == "note: did you mean 'tcp.dport'?")
        #expect(lines[4] == "dpf: 1 error; nothing was compiled")
    }

    @Test func warningsDoNotFailTheCompile() throws {
        let path = try temporaryFilterFile("app a { ip4 and ip6 }\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = dpf("compile", path)
        #expect(run.status == 0)
        #expect(run.err.hasPrefix("\(path):1:9: warning: filter 'a.1' never matches"))
    }

    @Test func anUnwritableOutputIsAnEnvironmentFailure() throws {
        let path = try temporaryFilterFile("app a { ip4 }\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = dpf("compile", path, "-o", "/nonexistent/dpf/out.dpfc")
        #expect(run.status == 3)
        #expect(run.err == "dpf: cannot write /nonexistent/dpf/out.dpfc: No such file or directory\n")
    }

    /// Writing a program and printing a stage compiles once, so each warning is reported once.
    @Test func writingAndEmittingWarnsOnce() throws {
        let path = try temporaryFilterFile("app a { ip4 and ip6 }\n")
        let output = path + ".dpfc"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: output)
        }
        let run = dpf("compile", path, "-o", output, "--emit", "bytecode")
        #expect(run.status == 0)
        #expect(
            run.err.components(separatedBy: "warning: filter 'a.1' never matches").count == 2, "\(run.err)")
        #expect(run.out.hasPrefix("program registers"))
    }

    @Test func missingFilesAreBadInput() {
        let run = dpf("compile", "/nonexistent/dpf/x.dpf")
        #expect(run.status == 1)
        #expect(run.err == "dpf: cannot read /nonexistent/dpf/x.dpf: No such file or directory\n")
    }

    @Test func usageErrorsExitTwo() {
        for arguments in [
            ["compile"], ["compile", "x.dpf", "--emit", "nonsense"], ["frobnicate"],
            ["compile", "x.dpf", "--link-type", "token-ring"],
        ] {
            let console = Console.capturing()
            #expect(DPFMain.run(arguments, console: console) == 2, "\(arguments)")
            #expect(console.standardError.hasPrefix("Error: "), "\(arguments): \(console.standardError)")
        }
        let help = dpf("--help")
        #expect(help.status == 0)
        #expect(help.out.contains("compile"))
    }

    @Test func jsonIsOneObject() throws {
        let run = dpf("compile", example("monitor.dpf"), "--emit", "tree", "--json")
        #expect(run.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        let apps = try #require(object["apps"] as? [[String: Any]])
        #expect(apps.map { $0["name"] as? String } == ["sniffer"])
        #expect(apps[0]["tap"] as? Bool == true)
        let ast = dpf("compile", example("monitor.dpf"), "--emit", "ast", "--json")
        #expect(try JSONSerialization.jsonObject(with: Data(ast.out.utf8)) is [String: Any])
    }

    @Test func emitAstIsTheParserOutput() throws {
        let run = dpf("compile", example("dns.dpf"), "--emit", "ast")
        #expect(run.status == 0)
        #expect(
            run.out
                == "(file \"\(example("dns.dpf"))\"\n  (app dns\n    (filter _ (or (== udp.dport 53) (== udp.sport 53)))))\n"
        )
    }

    @Test func emitTrieAndStats() throws {
        let trie = dpf("compile", example("dns.dpf"), "--emit", "trie")
        #expect(trie.status == 0)
        #expect(trie.out.hasPrefix("u16[12]  [hash 2]\n  == 0x0800\n"))
        #expect(trie.out.contains("=> dns.1 (app dns, priority 0, specificity 53)"))
        let stats = dpf("compile", example("web.dpf"), example("dns.dpf"), "--emit", "stats", "--json")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(stats.out.utf8)) as? [String: Any])
        #expect(object["filters"] as? Int == 4)
        let apps = (object["apps"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(apps == ["dns", "synguard", "web"])
    }

    @Test func emitBytecodeDisassemblesTheVerifiedProgram() {
        let run = dpf("compile", example("dns.dpf"), "--emit", "bytecode")
        #expect(run.status == 0)
        #expect(run.out.hasPrefix("program registers 2 link 1\n"))
        #expect(run.out.contains("filter 0 id 0 \"dns.1\" app \"dns\" priority 0\n"))
        #expect(run.out.contains("accept   specificity 53 #0  // dns.1"))
        #expect(run.out.contains("halt"))
    }

    @Test func benchMeasuresEveryEngineAfterCheckingTheyAgree() throws {
        let run = dpf("bench", "--filters", "1,20", "--repeats", "1", "--min-time", "0.001", "--json")
        #expect(run.status == 0, "\(run.err)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == 14)
        #expect(
            Set(results.compactMap { $0["engine"] as? String }) == [
                "reference", "trie", "bytecode", "libpcap-bpf", "handwritten", "mux", "mux-2w",
            ])
        #expect(results.allSatisfy { $0["ns_per_packet"] as? Double ?? 0 > 0 })
        #expect(dpf("bench", "--workload", "flows").status == 2)
        #expect(dpf("bench", "--engines", "jit").status == 2)
    }

    @Test func overlapsWithoutAGrantAreRefused() throws {
        let path = try temporaryFilterFile(
            "app a {\n    tcp.dport == 80\n}\napp b priority 5 {\n    web: tcp.dport == 80 and ip4\n}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = dpf("compile", path)
        #expect(run.status == 1)
        #expect(
            run.err == """
                \(path):5:5: error: filter 'b.web' would take packets from filter 'a.1' of app 'a': it overlaps it and \
                has a higher priority (5 > 0); app 'a' must grant it
                dpf: 1 filter refused; nothing was compiled

                """)
        let granted = try temporaryFilterFile(
            "app a {\n    tcp.dport == 80\n    grant * to b\n}\napp b priority 5 {\n    web: tcp.dport == 80 and ip4\n}\n"
        )
        defer { try? FileManager.default.removeItem(atPath: granted) }
        #expect(dpf("compile", granted).status == 0)
    }

    @Test func demoEvaluatesTheExamples() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }.sorted().map(example)
        let console = Console.capturing()
        #expect(DPFMain.run(["demo"] + files + ["--json"], console: console) == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(console.standardOutput.utf8)) as? [String: Any])
        #expect(object["packets"] as? Int == 16)
        #expect(object["unmatched"] as? Int == 6)
        let apps = try #require(object["apps"] as? [[String: Any]])
        let delivered = Dictionary(
            uniqueKeysWithValues: apps.map { ($0["name"] as! String, $0["delivered"] as! Int) })
        #expect(
            delivered == [
                "dns": 2, "v6web": 1, "ndp": 1, "sniffer": 3, "voice": 1, "guests": 1, "carrier": 1, "web": 2,
                "synguard": 1,
            ])
    }
}

@Suite struct ReplayTests {
    static let packets: [Packet] = [
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 9), dst: IPv4Address(10, 0, 0, 53)).udp(
            sourcePort: 5000, destinationPort: 53
        ).packet,
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 9), dst: IPv4Address(10, 0, 0, 1)).icmp4(
            type: 8
        ).packet,
        PacketBuilder.ethernet().ipv4(src: IPv4Address(192, 0, 2, 7), dst: IPv4Address(10, 1, 0, 5)).tcp(
            sourcePort: 1, destinationPort: 80
        ).packet,
        PacketBuilder.ethernet().arp(senderIP: IPv4Address(10, 0, 0, 9), targetIP: IPv4Address(10, 0, 0, 1))
            .packet,
    ]

    func write(_ bytes: [UInt8], suffix: String) throws -> String {
        let path = NSTemporaryDirectory() + "dpf-replay-\(UUID().uuidString).\(suffix)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func replay(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
        let console = Console.capturing()
        let status = DPFMain.run(["replay"] + arguments, console: console)
        return (status, console.standardOutput, console.standardError)
    }

    func delivered(_ json: String) throws -> [String: Int] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let apps = try #require(object["apps"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: apps.map { ($0["name"] as! String, $0["delivered"] as! Int) })
    }

    @Test func everyEngineAndACompiledProgramDeliverAlike() throws {
        let capture = try write(PcapWriter.encode(ReplayTests.packets), suffix: "pcap")
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let filters = ["dns.dpf", "monitor.dpf", "web.dpf"].map { "\(Fixtures.filtersDirectory)/\($0)" }
        let expected = ["dns": 1, "sniffer": 2, "web": 1, "synguard": 0]
        for engine in ["reference", "trie", "bytecode"] {
            let run = replay(
                [capture, "--filters", filters.joined(separator: ",")] + ["--engine", engine, "--json"])
            #expect(run.status == 0, "\(run.err)")
            #expect(try delivered(run.out) == expected, "\(engine)")
        }
        let program = NSTemporaryDirectory() + "dpf-replay-\(UUID().uuidString).dpfc"
        defer { try? FileManager.default.removeItem(atPath: program) }
        let console = Console.capturing()
        #expect(DPFMain.run(["compile"] + filters + ["-o", program], console: console) == 0)
        let run = replay([capture, "--program", program, "--json"])
        #expect(run.status == 0, "\(run.err)")
        #expect(try delivered(run.out) == expected)
    }

    @Test func aTruncatedCaptureReportsWhatWasReadThenFails() throws {
        var bytes = PcapWriter.encode(ReplayTests.packets)
        bytes.removeLast(5)
        let capture = try write(bytes, suffix: "pcap")
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let run = replay([capture, "--filters", "\(Fixtures.filtersDirectory)/dns.dpf", "--json"])
        #expect(run.status == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        #expect(object["packets"] as? Int == 3)
        // Reading stopped at the broken record; no packet that was read is malformed.
        #expect(object["malformed"] as? Int == 0)
        #expect((object["stopped"] as? [String: Any])?["record"] as? Int == 4)
        #expect(run.err.hasPrefix("dpf: \(capture): record 4: "))
    }

    @Test func badProgramsAndArgumentsAreRefused() throws {
        let capture = try write(PcapWriter.encode(ReplayTests.packets), suffix: "pcap")
        let garbage = try write(Array("DPFC but not really".utf8), suffix: "dpfc")
        defer {
            try? FileManager.default.removeItem(atPath: capture)
            try? FileManager.default.removeItem(atPath: garbage)
        }
        let run = replay([capture, "--program", garbage])
        #expect(run.status == 1)
        #expect(run.err.hasPrefix("dpf: \(garbage): "))
        #expect(replay([capture]).status == 2)
        #expect(replay([capture, "--program", garbage, "--engine", "trie"]).status == 2)
        #expect(replay(["/nonexistent.pcap", "--filters", "x.dpf"]).status == 1)
    }
}

@Suite struct RunProgressTests {
    @Test func theBarFollowsTheBytesReadAndTheRateThePackets() {
        let progress = RunProgress(label: "replay")
        #expect(
            progress.text(packets: 1_234_567, bytesRead: 45, totalBytes: 100, elapsed: .milliseconds(500))
                == "replay  [#########...........]   45%  1,234,567 packets  2.5 M packets/s")
        #expect(
            progress.text(packets: 10, bytesRead: 100, totalBytes: 100, elapsed: .seconds(1))
                == "replay  [####################]  100%  10 packets  10 packets/s")
        // A pipe has no size: no bar. Bytes past the size (a growing file) stop at 100%.
        #expect(
            progress.text(packets: 10, bytesRead: 5, totalBytes: nil, elapsed: .zero) == "replay  10 packets")
        #expect(progress.text(packets: 0, bytesRead: 500, totalBytes: 100, elapsed: .zero).contains("100%"))
        #expect(RunProgress.rate(999) == "999" && RunProgress.rate(1_000) == "1.0 k")
        #expect(RunProgress.rate(3.25e9) == "3.3 G" && RunProgress.rate(.infinity) == "0")
    }
}
