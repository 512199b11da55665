import DPFCapture
import DPFCommands
import DPFTestSupport
import DPFWire
import Foundation
import Testing

/// Issue 9: the commands that run packets (bench, replay, demo) refuse bad numbers and lists with
/// usage errors, print JSON numbers, accept replay's options in any order, count malformed packets,
/// and name link types.
@Suite struct RunCommandsTests {
    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    func dpf(_ arguments: [String], console: Console = .capturing()) -> Run {
        let status = DPFMain.run(arguments, console: console)
        return Run(status: status, out: console.standardOutput, err: console.standardError)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func example(_ name: String) -> String { "\(Fixtures.filtersDirectory)/\(name)" }

    func write(_ bytes: [UInt8], suffix: String) throws -> String {
        let path = NSTemporaryDirectory() + "dpf-runcmds-\(UUID().uuidString).\(suffix)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func writeCapture(_ packets: [Packet], linkType: LinkType = .ethernet) throws -> String {
        try write(PcapWriter.encode(packets, linkType: linkType), suffix: "pcap")
    }

    /// A short, fast bench run; `extra` decides what is being tested.
    func bench(_ extra: [String], console: Console = .capturing()) -> Run {
        dpf(
            ["bench", "--filters", "1", "--engines", "trie", "--repeats", "1", "--min-time", "0.001"] + extra,
            console: console)
    }

    // MARK: bench: numbers and lists

    @Test(arguments: [
        ["--min-time", "inf"], ["--min-time", "1e30"], ["--min-time", "nan"], ["--min-time=-1"],
        ["--min-time", "0"], ["--min-time", "100000"], ["--repeats", "0"], ["--repeats=-3"],
        ["--repeats", "1000000000000"], ["--repeats", "99999999999999999999999"], ["--filters", "0"],
        ["--filters=-5"], ["--filters", "1000000000000"], ["--filters", "60001"],
    ])
    func benchRefusesNumbersOutOfRange(_ arguments: [String]) {
        let run = bench(arguments)
        #expect(run.status == 2, "\(arguments): \(run.err)")
        #expect(run.out.isEmpty, "\(arguments)")
        #expect(run.err.hasPrefix("Error: "), "\(arguments): \(run.err)")
    }

    @Test func benchNamesTheRangeOfEachNumber() {
        #expect(
            bench(["--min-time", "inf"]).err.contains(
                "--min-time must be a number of seconds above 0 and at most 60"))
        #expect(bench(["--repeats", "5000"]).err.contains("--repeats must be in 1...1000"))
        #expect(bench(["--filters", "0"]).err.contains("'0' is not a filter count in 1...60000"))
    }

    @Test(arguments: [
        (["--filters", ""], "--filters needs at least one filter count"),
        (["--filters", "1,,2"], "--filters has an empty entry"),
        (["--filters", "1,"], "--filters has an empty entry"),
        (["--filters", "10,1,10"], "--filters lists 10 twice"),
        (["--filters", "10,010"], "--filters lists 10 twice"),
        (["--engines", ""], "--engines needs at least one engine"),
        (["--engines", "trie,,bytecode"], "--engines has an empty entry"),
        (["--engines", "trie,bytecode,trie"], "--engines lists trie twice"),
        (["--engines", "jit"], "unknown engine 'jit'"),
        (["--workload", "flows"], "unknown workload 'flows'"),
    ])
    func benchRefusesBadLists(_ arguments: [String], message: String) {
        let run = bench(arguments)
        #expect(run.status == 2, "\(arguments): \(run.out)")
        #expect(run.out.isEmpty, "\(arguments)")
        #expect(run.err.contains(message), "\(arguments): \(run.err)")
    }

    @Test func benchJSONFiguresAreNumbers() throws {
        let run = dpf([
            "bench", "--filters", "1,3", "--engines", "trie,bytecode", "--repeats", "1", "--min-time",
            "0.001",
            "--json",
        ])
        #expect(run.status == 0, "\(run.err)")
        let object = try json(run.out)
        #expect(object["hit_ratio"] as? Double == 0.5)
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == 4)
        for result in results {
            #expect(Set(result.keys) == ["engine", "workload", "filters", "ns_per_packet", "mpps"])
            #expect(result["workload"] as? String == "ports")
            #expect(result["filters"] is Int)
            let nanoseconds = try #require(result["ns_per_packet"] as? Double, "\(result)")
            let mpps = try #require(result["mpps"] as? Double, "\(result)")
            #expect(nanoseconds > 0 && mpps > 0)
            // Rounded to 4 significant digits, so the two figures agree to that.
            #expect(abs(mpps * nanoseconds / 1_000 - 1) < 0.002, "\(result)")
        }
        #expect(results.map { $0["filters"] as? Int } == [1, 1, 3, 3])
        #expect(!run.out.contains("\"0.5\""))
    }

    // MARK: bench: progress, debug builds, defaults

    @Test func benchShowsProgressOnlyOnATerminal() {
        let terminal = Console.capturing(standardErrorIsTerminal: true)
        let run = dpf(
            [
                "bench", "--filters", "1,2", "--engines", "trie,bytecode", "--repeats", "1", "--min-time",
                "0.001",
            ],
            console: terminal)
        #expect(run.status == 0, "\(run.err)")
        for (step, text) in ["trie 1 filter", "bytecode 1 filter", "trie 2 filters", "bytecode 2 filters"]
            .enumerated()
        {
            #expect(run.err.contains("\rbench: \(text) (\(step + 1)/4)"), "\(run.err.debugDescription)")
        }
        // The line is wiped at the end: the last thing on stderr is a carriage return, and it comes
        // before the table.
        #expect(run.err.hasSuffix("\r"), "\(run.err.debugDescription)")
        #expect(terminal.transcript.hasSuffix("\r" + run.out), "\(terminal.transcript.debugDescription)")
        #expect(!run.out.contains("\r"))

        let piped = bench([])
        #expect(piped.status == 0)
        #expect(!piped.err.contains("\r"))
        #expect(!piped.err.contains("bench: "))
    }

    @Test func benchWarnsThatDebugBuildTimingsMeanLittle() {
        let run = bench(["--json"])
        #expect(run.status == 0)
        let warning =
            "dpf: warning: this is a debug build; its timings are not representative (build with -c release)\n"
        let isDebugBuild = _isDebugAssertConfiguration()
        #expect(run.err == (isDebugBuild ? warning : ""))
    }

    @Test func helpShowsEveryDefault() {
        let help = dpf(["bench", "--help"])
        #expect(help.status == 0)
        let text = help.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(
            separator: " ")
        for expected in [
            "(default: 1,10,100,1000,10000)",
            "(default: reference,trie,bytecode,libpcap-bpf,handwritten,mux,mux-2w)",
            "(default: ports)", "(default: 5)", "(default: 0.05)",
        ] {
            #expect(text.contains(expected), "\(expected) in \(help.out)")
        }
        let replay = dpf(["replay", "--help"]).out
        #expect(replay.contains("default: bytecode)"), "\(replay)")
        #expect(replay.contains("--filters <file.dpf>"), "\(replay)")
    }

    // MARK: replay: options in any order

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
        PacketBuilder.ethernet().ipv4(src: IPv4Address(192, 0, 2, 7), dst: IPv4Address(10, 1, 0, 5)).tcp(
            sourcePort: 1, destinationPort: 443
        ).packet,
    ]

    func delivered(_ run: Run) throws -> [String: Int] {
        let apps = try #require(try json(run.out)["apps"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: apps.map { ($0["name"] as! String, $0["delivered"] as! Int) })
    }

    @Test func replayTakesFilterFilesInAnyOrder() throws {
        let capture = try writeCapture(RunCommandsTests.packets)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let dns = example("dns.dpf")
        let web = example("web.dpf")
        let both = ["dns": 1, "web": 2, "synguard": 0]
        for arguments in [
            ["--filters", dns, "--filters", web, capture],
            [capture, "--filters", dns, "--filters", web],
            ["--filters", "\(dns),\(web)", capture],
            [capture, "--filters", "\(dns),\(web)"],
            ["--json", "--filters", dns, capture, "--filters", web],
        ] {
            let run = dpf(["replay"] + arguments + (arguments.contains("--json") ? [] : ["--json"]))
            #expect(run.status == 0, "\(arguments): \(run.err)")
            #expect(try delivered(run) == both, "\(arguments)")
        }
        let one = dpf(["replay", "--filters", dns, capture, "--json"])
        #expect(one.status == 0, "\(one.err)")
        #expect(try delivered(one) == ["dns": 1])
    }

    @Test func replaySaysWhatToWriteWhenItCannotTell() throws {
        let capture = try writeCapture(RunCommandsTests.packets)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let twoCaptures = dpf(["replay", capture, capture, "--filters", example("dns.dpf")])
        #expect(twoCaptures.status == 2)
        #expect(
            twoCaptures.err.contains(
                "one capture at a time, not '\(capture)', '\(capture)'; write: dpf replay CAPTURE --filters FILE.dpf"
            ), "\(twoCaptures.err)")
        let noCapture = dpf(["replay", "--filters", example("dns.dpf")])
        #expect(noCapture.status == 2)
        #expect(
            noCapture.err.contains("missing the capture; write: dpf replay CAPTURE --filters FILE.dpf"),
            "\(noCapture.err)")
        let empty = dpf(["replay", capture, "--filters", ""])
        #expect(empty.status == 2)
        #expect(empty.err.contains("--filters has an empty entry"), "\(empty.err)")
        // The older form, several files after one --filters: each needs its own.
        for arguments in [
            [capture, "--filters", example("dns.dpf"), example("web.dpf")],
            ["--filters", example("dns.dpf"), example("web.dpf"), capture],
        ] {
            let stray = dpf(["replay"] + arguments)
            #expect(stray.status == 2)
            #expect(
                stray.err.contains(
                    "'\(example("web.dpf"))' is not a capture: each filter file needs its own --filters (--filters A.dpf --filters B.dpf, or --filters A.dpf,B.dpf)"
                ), "\(stray.err)")
        }
    }

    // MARK: replay: malformed, stopped, dropped, per filter, table

    @Test func replayCountsMalformedPacketsAndReportsTheStopApart() throws {
        let good = RunCommandsTests.packets[0]
        let runt = Packet(bytes: Array(good.bytes.prefix(10)))
        let liar = Packet(bytes: good.bytes, originalLength: good.bytes.count - 1)
        var bytes = PcapWriter.encode([good, runt, good, liar, good])
        let whole = try write(bytes, suffix: "pcap")
        bytes.removeLast(5)
        let broken = try write(bytes, suffix: "pcap")
        defer {
            try? FileManager.default.removeItem(atPath: whole)
            try? FileManager.default.removeItem(atPath: broken)
        }
        let run = dpf(["replay", whole, "--filters", example("dns.dpf"), "--json"])
        #expect(run.status == 0, "\(run.err)")
        let object = try json(run.out)
        #expect(object["packets"] as? Int == 5)
        // The runt and the liar are refused before the filters: every packet is counted once.
        #expect(object["malformed"] as? Int == 2)
        #expect(object["unmatched"] as? Int == 0)
        #expect(object["stopped"] is NSNull)
        #expect(try delivered(run) == ["dns": 3])
        #expect(object["delivered"] as? Int == 3)

        let stopped = dpf(["replay", broken, "--filters", example("dns.dpf"), "--json"])
        #expect(stopped.status == 1)
        let partial = try json(stopped.out)
        #expect(partial["packets"] as? Int == 4)
        #expect(partial["malformed"] as? Int == 2)
        let stop = try #require(partial["stopped"] as? [String: Any], "\(stopped.out)")
        #expect(stop["record"] as? Int == 5)
        let reason = try #require(stop["reason"] as? String)
        #expect(!reason.isEmpty && !reason.hasPrefix(broken), "\(reason)")
        #expect(stopped.err.hasPrefix("dpf: \(broken): record 5: "))

        let text = dpf(["replay", broken, "--filters", example("dns.dpf")])
        #expect(text.status == 1)
        #expect(text.out.hasPrefix("4 packets, 0 unmatched, 2 malformed\n"), "\(text.out)")
        #expect(text.out.contains("reading stopped at record 5: "), "\(text.out)")
    }

    @Test func replayCountsPerFilterAndAlignsItsTable() throws {
        let capture = try writeCapture(RunCommandsTests.packets)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let files = [example("dns.dpf"), example("web.dpf"), example("monitor.dpf")]
        let run = dpf(["replay", capture, "--json"] + files.flatMap { ["--filters", $0] })
        #expect(run.status == 0, "\(run.err)")
        let object = try json(run.out)
        let apps = try #require(object["apps"] as? [[String: Any]])
        #expect(apps.allSatisfy { $0["dropped"] as? Int == 0 })
        let filters = try #require(object["filters"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: filters.map { ($0["name"] as! String, $0) })
        #expect(byName["web.http"]?["delivered"] as? Int == 1)
        #expect(byName["web.https"]?["delivered"] as? Int == 1)
        #expect(byName["web.https"]?["app"] as? String == "web")
        #expect(byName["web.https"]?["bytes"] as? Int == RunCommandsTests.packets[3].capturedLength)
        #expect(byName["dns.1"]?["delivered"] as? Int == 1)
        #expect(byName["sniffer.icmp"]?["tap"] as? Bool == true)
        #expect(byName["sniffer.icmp"]?["delivered"] as? Int == 1)
        #expect(byName["sniffer.arp"]?["delivered"] as? Int == 0)
        #expect(filters.map { $0["name"] as? String }.count == 7)

        // Each engine counts per filter alike.
        for engine in ["reference", "trie"] {
            let other = dpf(
                ["replay", capture, "--json", "--engine", engine] + files.flatMap { ["--filters", $0] })
            let otherFilters = try #require(try json(other.out)["filters"] as? [[String: Any]])
            #expect(
                otherFilters.map { "\($0["name"]!) \($0["delivered"]!) \($0["bytes"]!)" }
                    == filters.map { "\($0["name"]!) \($0["delivered"]!) \($0["bytes"]!)" }, "\(engine)")
        }

        let table = dpf(["replay", capture, "--per-filter"] + files.flatMap { ["--filters", $0] })
        #expect(table.status == 0, "\(table.err)")
        let lines = table.out.split(separator: "\n").map(String.init)
        let appRows = lines.filter { $0.hasPrefix("  ") && !$0.hasPrefix("    ") }
        let filterRows = lines.filter { $0.hasPrefix("    ") }
        #expect(appRows.count == 4, "\(table.out)")
        #expect(filterRows.count >= 5, "\(table.out)")
        // Every column of the app rows starts at the same place: the packet counts end together.
        let ends = Set(appRows.map { $0.range(of: " packets")!.lowerBound.utf16Offset(in: $0) })
        #expect(ends.count == 1, "\(table.out)")
        let byteEnds = Set(appRows.map { $0.range(of: " bytes")!.lowerBound.utf16Offset(in: $0) })
        #expect(byteEnds.count == 1, "\(table.out)")
        #expect(table.out.contains("web.https"))
        let plain = dpf(["replay", capture] + files.flatMap { ["--filters", $0] })
        #expect(!plain.out.contains("web.https"))
    }

    @Test func replayShowsProgressOnATerminal() throws {
        let packets = Array(repeating: RunCommandsTests.packets[0], count: 3000)
        let capture = try writeCapture(packets)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let terminal = Console.capturing(standardErrorIsTerminal: true, progressInterval: .zero)
        let run = dpf(["replay", capture, "--filters", example("dns.dpf")], console: terminal)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.err.contains("\rreplay: 1,024 packets…"), "\(run.err.debugDescription)")
        #expect(run.err.contains("\rreplay: 2,048 packets…"), "\(run.err.debugDescription)")
        #expect(run.err.hasSuffix("\r"))
        #expect(terminal.transcript.hasSuffix("\r" + run.out), "\(terminal.transcript.debugDescription)")
        let piped = dpf(
            ["replay", capture, "--filters", example("dns.dpf")],
            console: .capturing(standardErrorIsTerminal: false, progressInterval: .zero))
        #expect(piped.err.isEmpty, "\(piped.err.debugDescription)")
    }

    // MARK: demo, link types, JSON

    @Test func demoBracketsIPv6Endpoints() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }.sorted().map(example)
        let run = dpf(["demo"] + files)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("ip6 tcp [2001:db8:1::7]:40003 > [2001:db8:2::443]:443"), "\(run.out)")
        #expect(run.out.contains("ip4 tcp 192.0.2.7:40001 > 10.1.0.5:80"))
    }

    @Test func linkTypesAreNamed() throws {
        #expect(DataLink.describe(linkTypeValue: 276) == "LINUX_SLL2 (276)")
        #expect(DataLink.describe(linkTypeValue: 113) == "LINUX_SLL (113)")
        #expect(DataLink.describe(linkTypeValue: 101) == "RAW (101)")
        #expect(DataLink.describe(linkTypeValue: 1) == "EN10MB (1)")
        #expect(DataLink.describe(linkTypeValue: 60_000) == "60000")
        #expect(
            LinkType.allCases.map(\.pcapName) == [
                "NULL", "EN10MB", "RAW", "LOOP", "LINUX_SLL", "IPV4", "IPV6", "LINUX_SLL2",
            ])
        for linkType in LinkType.allCases {
            #expect(
                DataLink.describe(linkTypeValue: linkType.rawValue)
                    == "\(linkType.pcapName) (\(linkType.rawValue))")
        }

        // A capture whose link type DPF does not demultiplex: 802.11.
        var bytes = PcapWriter.encode(RunCommandsTests.packets)
        withUnsafeBytes(of: UInt32(105).littleEndian) { bytes.replaceSubrange(20..<24, with: $0) }
        let wireless = try write(bytes, suffix: "pcap")
        let cooked = try writeCapture(
            [Packet(bytes: Array(repeating: 0, count: 40), linkType: .linuxCooked)], linkType: .linuxCooked)
        let program = NSTemporaryDirectory() + "dpf-runcmds-\(UUID().uuidString).dpfc"
        defer {
            for path in [wireless, cooked, program] { try? FileManager.default.removeItem(atPath: path) }
        }
        let unsupported = dpf(["replay", wireless, "--filters", example("dns.dpf")])
        #expect(unsupported.status == 1)
        #expect(
            unsupported.err == "dpf: \(wireless): link type IEEE802_11 (105) is not one DPF demultiplexes\n",
            "\(unsupported.err)")

        #expect(dpf(["compile", example("dns.dpf"), "-o", program]).status == 0)
        let mismatch = dpf(["replay", cooked, "--program", program])
        #expect(mismatch.status == 1)
        #expect(
            mismatch.err
                == "dpf: \(program) was compiled for link type EN10MB (1), but \(cooked) has LINUX_SLL (113); compile it with --link-type linux-sll\n",
            "\(mismatch.err)")
    }

    @Test func everyJSONOutputIsOneObjectAndNothingElse() throws {
        let capture = try writeCapture(RunCommandsTests.packets)
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }.sorted().map(example)
        for arguments in [
            ["bench", "--filters", "2", "--repeats", "1", "--min-time", "0.001", "--json"],
            ["replay", capture, "--filters", example("dns.dpf"), "--json"],
            ["replay", capture, "--filters", example("dns.dpf"), "--json", "--per-filter"],
            ["demo", "--json"] + files,
        ] {
            let run = dpf(arguments)
            #expect(run.status == 0, "\(arguments): \(run.err)")
            #expect(run.out.hasPrefix("{") && run.out.hasSuffix("}\n"), "\(arguments)")
            #expect(run.out.filter { $0 == "\n" }.count == 1, "\(arguments)")
            _ = try json(run.out)
        }
    }
}
