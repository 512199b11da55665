import ArgumentParser
import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFFilter
import DPFTrie
import DPFWire
import DPFWorkloads

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
    }

    @Option(help: "Filter counts, comma-separated.", transform: BenchCommand.parseCounts)
    var filters: [Int] = [1, 10, 100, 1_000, 10_000]

    @Option(
        help: "Engines, comma-separated: \(Engine.allCases.map(\.rawValue).joined(separator: ", ")).",
        transform: BenchCommand.parseEngines)
    var engines: [Engine] = Engine.allCases

    @Option(help: "Workload (only 'ports' so far).")
    var workload = "ports"

    @Option(help: "Runs per measurement; the median is reported.")
    var repeats = 5

    @Option(name: .customLong("min-time"), help: "Seconds each run lasts at least.")
    var minimumTime = 0.05

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard workload == "ports" else {
            throw ValidationError("unknown workload '\(workload)'; available: ports")
        }
        guard repeats >= 1, minimumTime > 0 else {
            throw ValidationError("--repeats and --min-time must be positive")
        }
    }

    static func parseCounts(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let count = Int(part), count >= 1, count <= 60_000 else {
                throw ValidationError("'\(part)' is not a filter count in 1...60000")
            }
            return count
        }
    }

    static func parseEngines(_ text: String) throws -> [Engine] {
        try text.split(separator: ",").map { part in
            guard let engine = Engine(rawValue: String(part)) else {
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
        var results: [Result] = []
        var packetCount = 0
        for count in filters {
            let workload = try PortsWorkload(filters: count)
            packetCount = workload.packets.count
            let runners = try BenchRunners(workload, engines: engines)
            try runners.checkAgreement()
            for runner in runners.all {
                let timings = (0..<repeats).map { _ in measure(runner.run, packets: workload.packets.count) }
                results.append(
                    Result(
                        engine: runner.engine, filters: count,
                        nanosecondsPerPacket: timings.sorted()[timings.count / 2]))
            }
        }
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
                    ("ns_per_packet", .string(format(result.nanosecondsPerPacket))),
                    ("mpps", .string(format(1_000 / result.nanosecondsPerPacket))),
                ])
            }
            console.out(
                JSONValue.object([
                    ("workload", .string(workload)), ("packets", .int(packets)),
                    ("hit_ratio", .string(format(PortsWorkload.hitRatio))),
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

    private func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return value >= 100 ? String(Int(value.rounded())) : String(rounded)
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
        var appOfFilter: [FilterID: Int32] = [:]
        for (index, app) in workload.apps.enumerated() {
            appOfFilter[trie.id(named: app.filterName)!] = Int32(index)
        }
        let app = { (filter: FilterID?) in filter.flatMap { appOfFilter[$0] } ?? -1 }
        all = try engines.map { engine in
            switch engine {
            case .reference:
                let reference = ReferenceDelivery(trie)
                let packets = workload.packets.map { Packet(bytes: $0) }
                return Runner(
                    engine: engine,
                    run: {
                        packets.reduce(0) { $0 &+ Int(reference.verdict(for: $1).owner?.rawValue ?? -1) }
                    },
                    owners: { packets.map { app(reference.verdict(for: $0).owner) } })
            case .trie:
                let packets = workload.packets
                return Runner(
                    engine: engine,
                    run: { packets.reduce(0) { $0 &+ Int(trie.verdict(bytes: $1).owner?.rawValue ?? -1) } },
                    owners: { packets.map { app(trie.verdict(bytes: $0).owner) } })
            case .bytecode:
                let program = try Lowering.lower(trie)
                let interpreter = Interpreter(try Verifier.verify(program))
                let appOfNumber = program.filters.map { app(trie.id(named: $0.name)) }
                let results = BatchResults(packets: batch.count, filters: program.filters.count)
                return Runner(
                    engine: engine, run: { results.sumOfOwners(interpreter, batch) },
                    owners: { results.owners(interpreter, batch).map { $0 < 0 ? -1 : appOfNumber[Int($0)] } })
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
