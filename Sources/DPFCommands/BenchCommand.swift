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
            for (engine, runner) in runners.all {
                let timings = (0..<repeats).map { _ in measure(runner, packets: workload.packets.count) }
                results.append(
                    Result(
                        engine: engine, filters: count,
                        nanosecondsPerPacket: timings.sorted()[timings.count / 2]))
            }
        }
        report(results, packets: packetCount)
    }

    /// Nanoseconds per packet for one run of at least `minimumTime` seconds. The runners are
    /// stored closures the optimiser cannot see through, and their owner checksums are kept.
    private func measure(_ runner: () -> Int, packets: Int) -> Double {
        let clock = ContinuousClock()
        var passes = 0
        var checksum = 0
        let elapsed = clock.measure {
            let start = clock.now
            repeat {
                checksum &+= runner()
                passes += 1
            } while start.duration(to: clock.now) < .nanoseconds(Int64(minimumTime * 1e9))
        }
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

    private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(1, width - text.count))
        return right ? padding + text : text + padding
    }
}

/// One closure per engine that demultiplexes every packet of the workload once and returns a
/// checksum of the owners (so the work cannot be optimised away).
struct BenchRunners {
    let all: [(BenchCommand.Engine, () -> Int)]
    private let owners: [(BenchCommand.Engine, [Int32])]

    init(_ workload: PortsWorkload, engines: [BenchCommand.Engine]) throws {
        var runners: [(BenchCommand.Engine, () -> Int)] = []
        var owners: [(BenchCommand.Engine, [Int32])] = []
        let packets = workload.packets
        let batch = PacketBatch(packets)
        let trie = DecisionTrie()
        var appOfFilter: [Int32: Int32] = [:]
        var appOfName: [String: Int32] = [:]
        for (index, app) in workload.apps.enumerated() {
            try trie.insert(name: "\(app.name).1", app: app.name, tree: app.tree)
            appOfFilter[trie.id(named: "\(app.name).1")!.rawValue] = Int32(index)
            appOfName["\(app.name).1"] = Int32(index)
        }
        for engine in engines {
            let owner: ([UInt8]) -> Int32
            switch engine {
            case .reference:
                let trees = workload.apps.map(\.tree)
                owner = { bytes in
                    Int32(trees.firstIndex { ReferenceEvaluator.matches($0, bytes: bytes) } ?? -1)
                }
                runners.append((engine, { packets.reduce(0) { sum, bytes in sum &+ Int(owner(bytes)) } }))
            case .trie:
                owner = { bytes in trie.verdict(bytes: bytes).owner.map { appOfFilter[$0.rawValue]! } ?? -1 }
                runners.append((engine, { packets.reduce(0) { sum, bytes in sum &+ Int(owner(bytes)) } }))
            case .bytecode:
                let program = try Lowering.lower(trie)
                let interpreter = Interpreter(try Verifier.verify(program))
                let appOfNumber = program.filters.map { appOfName[$0.name]! }
                owner = { bytes in interpreter.run(bytes).owner.map { appOfNumber[Int($0)] } ?? -1 }
                let results = BatchResults(packets: batch.count, filters: program.filters.count)
                runners.append((engine, { results.sumOfOwners(interpreter, batch) }))
            case .libpcapBPF:
                let compiled = try workload.apps.map { try LibpcapFilter($0.pcap) }
                owner = { bytes in
                    let packet = Packet(bytes: bytes)
                    return Int32(compiled.firstIndex { $0.matches(packet) } ?? -1)
                }
                runners.append(
                    (
                        engine,
                        {
                            batch.sum { packet in
                                for (index, filter) in compiled.enumerated() where filter.matches(packet) {
                                    return index
                                }
                                return -1
                            }
                        }
                    ))
            case .handwritten:
                let demux = HandwrittenDemux(workload)
                owner = { bytes in bytes.withUnsafeBytes { demux.owner($0) } }
                runners.append((engine, { batch.sum { Int(demux.owner($0)) } }))
            }
            owners.append((engine, packets.map(owner)))
        }
        all = runners
        self.owners = owners
    }

    /// Every engine must name the same owner for every packet, or the figures mean nothing.
    func checkAgreement() throws(CommandFailure) {
        guard let (firstEngine, expected) = owners.first else { return }
        for (engine, found) in owners.dropFirst() where found != expected {
            let index = found.indices.first { found[$0] != expected[$0] }!
            throw CommandFailure(
                .badInput,
                "engines disagree: \(engine.rawValue) gives app \(found[index]) and \(firstEngine.rawValue) app \(expected[index]) for packet \(index)"
            )
        }
    }
}
