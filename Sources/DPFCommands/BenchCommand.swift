import ArgumentParser
import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFTrie
import DPFWire
import DPFWorkloads
import Foundation

/// `dpf bench`: every engine on the same workload and packets, in one run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Measure demultiplexing speed of every engine against libpcap's bpf_filter and a hand-written demultiplexer.",
        discussion: """
            Workload 'ports': N apps each bind one TCP or UDP destination port; half the packets go to an \
            installed port. libpcap-bpf runs each app's pcap_compile'd filter in turn, first match wins.

            Figures are medians of --repeats runs; each run loops over the packets for at least \
            --min-time seconds. Before timing, every engine's owner for every packet is checked against \
            the others.
            """
    )

    enum Engine: String, CaseIterable, ExpressibleByArgument {
        case reference
        case trie
        case bytecode
        case libpcapBPF = "libpcap-bpf"
        case handwritten
        /// The multiplexer with one worker, delivering into the apps' rings (consumers included).
        case mux
        /// The same with two worker threads.
        case mux2 = "mux-2w"
    }

    static let defaultCounts = [1, 10, 100, 1_000, 10_000]
    /// The ports workload gives app i port 1024+i and misses go up to 1,000 ports above the last.
    static let countRange = 1...60_000
    static let repeatsRange = 1...1_000
    static let longestRun = 60.0

    // ArgumentParser shows no default for options parsed with a transform, so these two say theirs.
    @Option(
        help: ArgumentHelp(
            "Filter counts, comma-separated, each in \(countRange.lowerBound)...\(countRange.upperBound). (default: \(defaultCounts.map(String.init).joined(separator: ",")))",
            valueName: "n,n,..."),
        transform: BenchCommand.parseCounts)
    var filters: [Int] = defaultCounts

    @Option(
        help: ArgumentHelp(
            "Engines, comma-separated, from: \(Engine.allCases.map(\.rawValue).joined(separator: ", ")). (default: \(Engine.allCases.map(\.rawValue).joined(separator: ",")))",
            valueName: "engine,..."),
        transform: BenchCommand.parseEngines)
    var engines: [Engine] = Engine.allCases

    @Option(help: "Workload (only 'ports' so far).")
    var workload = "ports"

    @Option(
        help:
            "Runs per measurement, \(repeatsRange.lowerBound)...\(repeatsRange.upperBound); the median is reported."
    )
    var repeats = 5

    @Option(
        name: .customLong("min-time"),
        help: ArgumentHelp(
            "Seconds each run lasts at least, above 0 and at most \(Int(longestRun)).", valueName: "seconds"))
    var minimumTime = 0.05

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard workload == "ports" else {
            throw ValidationError("unknown workload '\(workload)'; available: ports")
        }
        guard BenchCommand.repeatsRange.contains(repeats) else {
            throw ValidationError(
                "--repeats must be in \(BenchCommand.repeatsRange.lowerBound)...\(BenchCommand.repeatsRange.upperBound), not \(repeats)"
            )
        }
        // Written so that NaN fails too; infinities and huge values would overflow the deadline.
        guard minimumTime > 0 && minimumTime <= BenchCommand.longestRun else {
            throw ValidationError(
                "--min-time must be a number of seconds above 0 and at most \(Int(BenchCommand.longestRun)), not \(minimumTime)"
            )
        }
    }

    /// The comma-separated entries of a list option: none empty, no repeats.
    static func entries(_ text: String, option: String, what: String) throws -> [String] {
        guard !text.isEmpty else { throw ValidationError("\(option) needs at least one \(what)") }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if parts.contains(where: \.isEmpty) {
            throw ValidationError(
                "\(option) has an empty entry in '\(text)'; separate \(what)s with single commas")
        }
        var seen: Set<String> = []
        for part in parts where !seen.insert(part).inserted {
            throw ValidationError("\(option) lists \(part) twice")
        }
        return parts
    }

    static func parseCounts(_ text: String) throws -> [Int] {
        let counts = try entries(text, option: "--filters", what: "filter count").map { part in
            guard let count = Int(part), countRange.contains(count) else {
                throw ValidationError(
                    "'\(part)' is not a filter count in \(countRange.lowerBound)...\(countRange.upperBound)")
            }
            return count
        }
        // "10,010" names one count twice.
        if let repeated = counts.first(where: { count in counts.filter { $0 == count }.count > 1 }) {
            throw ValidationError("--filters lists \(repeated) twice")
        }
        return counts
    }

    static func parseEngines(_ text: String) throws -> [Engine] {
        try entries(text, option: "--engines", what: "engine").map { part in
            guard let engine = Engine(rawValue: part) else {
                throw ValidationError(
                    "unknown engine '\(part)'; expected one of \(Engine.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return engine
        }
    }

    struct Result {
        let engine: Engine
        let filters: Int
        let nanosecondsPerPacket: Double
    }

    func run() throws {
        if _isDebugAssertConfiguration() {
            Console.current.err(
                "dpf: warning: this is a debug build; its timings are not representative (build with -c release)"
            )
        }
        let progress = ProgressLine()
        defer { progress.clear() }
        let steps = filters.count * engines.count
        var step = 0
        var results: [Result] = []
        var packetCount = 0
        for count in filters {
            let filtersText = count == 1 ? "1 filter" : "\(count) filters"
            progress.show("bench: \(filtersText): building the engines, checking they agree")
            let workload = try PortsWorkload(filters: count)
            packetCount = workload.packets.count
            let runners = try BenchRunners(workload, engines: engines)
            try runners.checkAgreement()
            for runner in runners.all {
                step += 1
                progress.show("bench: \(runner.engine.rawValue) \(filtersText) (\(step)/\(steps))")
                let timings = (0..<repeats).map { _ in measure(runner.run, packets: workload.packets.count) }
                results.append(
                    Result(
                        engine: runner.engine, filters: count,
                        nanosecondsPerPacket: timings.sorted()[timings.count / 2]))
            }
        }
        progress.clear()
        report(results, packets: packetCount)
    }

    /// Nanoseconds per packet for one run of at least `minimumTime` seconds. The runners are
    /// stored closures the optimiser cannot see through, and their owner checksums are kept.
    private func measure(_ runner: () -> Int, packets: Int) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .nanoseconds(Int64(minimumTime * 1e9))
        var passes = 0
        var checksum = 0
        repeat {
            checksum &+= runner()
            passes += 1
        } while clock.now < deadline
        let elapsed = start.duration(to: clock.now)
        withExtendedLifetime(checksum) {}
        let nanoseconds =
            Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return nanoseconds / Double(passes * packets)
    }

    private func report(_ results: [Result], packets: Int) {
        let console = Console.current
        let find = { (engine: Engine, filters: Int) in
            results.first { $0.engine == engine && $0.filters == filters }
        }
        if json {
            let rows = results.map { result in
                JSONValue.object([
                    ("engine", .string(result.engine.rawValue)), ("workload", .string(workload)),
                    ("filters", .int(result.filters)),
                    ("ns_per_packet", .double(BenchCommand.rounded(result.nanosecondsPerPacket))),
                    ("mpps", .double(BenchCommand.rounded(1_000 / result.nanosecondsPerPacket))),
                ])
            }
            console.out(
                JSONValue.object([
                    ("workload", .string(workload)), ("packets", .int(packets)),
                    ("hit_ratio", .double(PortsWorkload.hitRatio)),
                    ("repeats", .int(repeats)), ("results", .array(rows)),
                ]).serialized())
            return
        }
        console.out(
            "\(workload) workload: \(packets) packets, \(Int(PortsWorkload.hitRatio * 100))% to installed ports; median of \(repeats) runs"
        )
        console.out(
            pad("filters", 9) + pad("engine", 14) + pad("ns/packet", 12, right: true)
                + pad("Mpps", 9, right: true)
                + pad("libpcap-bpf/this", 18, right: true) + pad("this/handwritten", 18, right: true))
        for result in results {
            let versusLibpcap =
                find(.libpcapBPF, result.filters).map {
                    format($0.nanosecondsPerPacket / result.nanosecondsPerPacket) + "x"
                } ?? "-"
            let versusHandwritten =
                find(.handwritten, result.filters).map {
                    format(result.nanosecondsPerPacket / $0.nanosecondsPerPacket) + "x"
                } ?? "-"
            console.out(
                pad(String(result.filters), 9) + pad(result.engine.rawValue, 14)
                    + pad(format(result.nanosecondsPerPacket), 12, right: true)
                    + pad(format(1_000 / result.nanosecondsPerPacket), 9, right: true)
                    + pad(versusLibpcap, 18, right: true)
                    + pad(versusHandwritten, 18, right: true))
        }
    }

    /// `value` rounded to `digits` significant digits: timings are not more precise than that.
    static func rounded(_ value: Double, digits: Int = 4) -> Double {
        guard value.isFinite, value != 0 else { return value }
        let scale = digits - 1 - Int(log10(abs(value)).rounded(.down))
        // Dividing by an exact power of ten gives the double nearest the decimal, which prints short.
        if scale >= 0 {
            let power = pow(10, Double(min(scale, 22)))
            return (value * power).rounded() / power
        }
        let power = pow(10, Double(-scale))
        return (value / power).rounded() * power
    }

    private func format(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(BenchCommand.rounded(value))
    }

}

/// One runner per engine. `run` demultiplexes every packet of the workload once through the
/// entry point being timed and returns a checksum of the owners (so the work cannot be optimised
/// away); `owners` gives each packet's owning app through that same entry point, for the agreement
/// check. Mapping engine results to apps happens only there, outside the timing.
struct BenchRunners {
    struct Runner {
        let engine: BenchCommand.Engine
        let run: () -> Int
        let owners: () -> [Int32]
    }

    let all: [Runner]

    init(_ workload: PortsWorkload, engines: [BenchCommand.Engine]) throws {
        let batch = PacketBatch(workload.packets)
        let trie = try workload.trie()
        let workloadApp = Dictionary(
            uniqueKeysWithValues: workload.apps.enumerated().map { ($1.name, Int32($0)) })
        all = try engines.map { engine in
            switch engine {
            case .reference, .trie, .bytecode:
                let kind = EngineKind(rawValue: engine.rawValue)!
                let demux: any DemuxEngine
                do throws(CompileError) {
                    demux = try kind.make(trie)
                } catch {
                    throw CommandFailure(.internalError, error.description)
                }
                // Verdict buffers are allocated once, outside the timing.
                let verdicts = demux.makeVerdicts(packets: batch.count)
                let appOfEngineApp = demux.filters.apps.map { workloadApp[$0.name]! }
                return Runner(
                    engine: engine, run: { demux.sumOfOwners(batch, using: verdicts) },
                    owners: {
                        Delivery.ownerApps(demux, batch).map { $0 < 0 ? -1 : appOfEngineApp[Int($0)] }
                    })
            case .libpcapBPF:
                var compiled: [LibpcapFilter] = []
                for app in workload.apps {
                    do throws(CaptureError) {
                        compiled.append(try LibpcapFilter(app.pcap))
                    } catch {
                        throw CommandFailure(
                            .environment, "libpcap cannot compile '\(app.pcap)': \(error.message)")
                    }
                }
                // First match wins, as an application-by-application demultiplexer does.
                let owner = { (packet: UnsafeRawBufferPointer) -> Int32 in
                    for (index, filter) in compiled.enumerated() where filter.matches(packet) {
                        return Int32(index)
                    }
                    return -1
                }
                return Runner(
                    engine: engine, run: { batch.sum { Int(owner($0)) } }, owners: { batch.views.map(owner) })
            case .handwritten:
                let demux = HandwrittenDemux(workload)
                return Runner(
                    engine: engine, run: { batch.sum { Int(demux.owner($0)) } },
                    owners: { batch.views.map(demux.owner) })
            case .mux: return try BenchRunners.multiplexer(workload, workers: 1, engine: engine)
            case .mux2: return try BenchRunners.multiplexer(workload, workers: 2, engine: engine)
            }
        }
    }

    /// Every engine must name the same owner for every packet, or the figures mean nothing.
    func checkAgreement() throws(CommandFailure) {
        guard let first = all.first else { return }
        let expected = first.owners()
        for runner in all.dropFirst() {
            let found = runner.owners()
            guard let index = found.indices.first(where: { found[$0] != expected[$0] }) else { continue }
            throw CommandFailure(
                .badInput,
                "engines disagree: \(runner.engine.rawValue) gives app \(found[index]) and \(first.engine.rawValue) app \(expected[index]) for packet \(index)"
            )
        }
    }
}
