import Benchmark
import DPFAnalysis
import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFMux
import DPFSyntax
import DPFTrie
import DPFWire

/// The multiplexer against its targets, on 1,000 port filters (app i, of 1,000, with one filter
/// `tcp.dport == 1024+i`, installed through `Multiplexer.install`) and 64-byte Ethernet/IPv4/TCP
/// packets from an `InMemorySource`, every one to an installed port:
///
/// - the bytecode decision alone against a whole run with one worker delivering into the apps'
///   128-byte-slot rings, 1,000 and 10,000 packets per iteration (less the harness's own, the
///   malloc count per iteration is the run's own whatever the packet count: none per packet or
///   per batch), and 1,000 packets to only 10 of the apps (delivery with the rings in cache);
/// - throughput with one worker against two (64,000 packets per iteration, so the run's setup
///   (threads, pipeline) is a small part of it);
/// - one install, then one remove, with 10,000 filters installed (1,000 apps × 10).
///
/// Per packet: the iteration's figure divided by its packets. The rings are emptied between
/// iterations, outside the measurement; each iteration checks that every packet was delivered.
/// Setup (up to 10,000 installs, batched into one compile) is in each benchmark's setup hook, which
/// runs only in that benchmark's own process.
func multiplexerBenchmarks() {
    let perPacket = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 10_000)

    // What the harness itself allocates between an explicit start and stop.
    Benchmark("Harness only, explicit start and stop", configuration: perPacket) { benchmark in
        benchmark.startMeasurement()
        benchmark.stopMeasurement()
    }

    // (a) The decision alone: the same trie, compiled as a snapshot is, over the same packets.
    let decision = MuxBench()
    Benchmark(
        "Bytecode decision, 1,000 64-byte packets, 1,000 port filters", configuration: perPacket
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(decision.engine!.sumOfOwners(decision.batch!, using: decision.verdicts!))
        }
    } setup: {
        let trie = DecisionTrie()
        for app in 0..<MuxBench.apps {
            try trie.insert(
                name: "app\(app).0", app: "app\(app)", tree: MuxBench.tree(port: MuxBench.port(app)))
        }
        let engine = BytecodeEngine(Interpreter(try Compiler.compile(trie)))
        decision.engine = engine
        decision.batch = PacketBatch(MuxBench.packets(1_000))
        decision.verdicts = engine.makeVerdicts(packets: 1_000)
    }

    // (a) A run with one worker: batches from the source, the decision, delivery into the rings.
    for packets in [1_000, 10_000] {
        let bench = MuxBench()
        Benchmark(
            "Multiplexer run, 1 worker, \(packets.formatted()) 64-byte packets, 1,000 port filters",
            configuration: perPacket
        ) { benchmark in
            bench.timedRun(benchmark)
        } setup: {
            try bench.setUp(workers: 1, filtersPerApp: 1, slotPages: 1, packets: packets)
        }
    }

    // (a) The same with every packet to one of 10 apps (of the 1,000 installed): the decision is
    // as costly, but delivery touches 10 rings, not 1,000 (what the fan-out costs in memory).
    let narrow = MuxBench()
    Benchmark(
        "Multiplexer run, 1 worker, 1,000 64-byte packets to 10 of the 1,000 apps", configuration: perPacket
    ) { benchmark in
        narrow.timedRun(benchmark)
    } setup: {
        // 100 packets per app and iteration: 128-slot rings.
        try narrow.setUp(workers: 1, filtersPerApp: 1, slotPages: 4, packets: 1_000, targets: 10)
    }

    // (b) Throughput, one worker against two: packets to all 1,000 apps (every delivery a cache
    // miss), and to 10 of them (the same decision, rings that stay in cache).
    for (targets, slotPages) in [(MuxBench.apps, 3), (10, 200)] {
        for workers in [1, 2] {
            let bench = MuxBench()
            let spread = targets == MuxBench.apps ? "" : " to \(targets) of the \(MuxBench.apps) apps"
            Benchmark(
                "Multiplexer throughput, \(workers) worker\(workers == 1 ? "" : "s"), 64,000 64-byte packets\(spread), 1,000 port filters",
                configuration: .init(
                    metrics: [.wallClock, .mallocCountTotal, .throughput], maxDuration: .seconds(5),
                    maxIterations: 1_000)
            ) { benchmark in
                bench.timedRun(benchmark)
            } setup: {
                // 64 packets per app and iteration (96-slot rings), or 6,400 (6,400-slot rings), split
                // over the workers by flow.
                try bench.setUp(
                    workers: workers, filtersPerApp: 1, slotPages: slotPages, packets: 64_000,
                    targets: targets)
            }
        }
    }

    // (c) One install and one remove with 10,000 filters installed (one setup for both). Each
    // returns once the new snapshot is published and the old one is out of every worker's hands.
    // Wall clock and mallocs are the install's; both times are custom metrics.
    let control = MuxBench()
    let installTime = BenchmarkMetric.custom("Install (μs)", useScalingFactor: false)
    let removeTime = BenchmarkMetric.custom("Remove (μs)", useScalingFactor: false)
    Benchmark(
        "Install, then remove, one filter with 10,000 port filters installed",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, installTime, removeTime], maxDuration: .seconds(5),
            maxIterations: 200)
    ) { benchmark in
        let start = ContinuousClock.now
        benchmark.startMeasurement()
        let filter = control.installExtra()
        benchmark.stopMeasurement()
        let installed = ContinuousClock.now
        control.remove(filter)
        let removed = ContinuousClock.now
        benchmark.measurement(installTime, microseconds(installed - start))
        benchmark.measurement(removeTime, microseconds(removed - installed))
    } setup: {
        try control.setUp(workers: 1, filtersPerApp: 10, slotPages: 1, packets: 0)
    }
}

func microseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds) * 1_000_000 + Int(duration.components.attoseconds / 1_000_000_000_000)
}

/// One benchmark's multiplexer, its apps' consumers and its source, made by the setup hook.
final class MuxBench: @unchecked Sendable {
    // @unchecked: set up, then used, by one benchmark thread at a time.
    static let apps = 1_000
    static let slotSize = 128

    var mux: Multiplexer?
    var apps: [MuxApp] = []
    var consumers: [RingConsumer] = []
    var source: InMemorySource?
    var packets = 0
    /// The tree of the filter installed and removed in (c), parsed once.
    var extraTree: FilterTree?
    // The decision alone.
    var engine: BytecodeEngine?
    var batch: PacketBatch?
    var verdicts: VerdictBatch?

    static func port(_ app: Int, filter: Int = 0) -> UInt16 { UInt16(1024 + filter * apps + app) }

    static func tree(port: UInt16) throws -> FilterTree {
        let source = SourceFile(name: "mux-bench", text: "tcp.dport == \(port)")
        return try SemanticAnalyzer.analyzeExpression(Parser.parseExpression(source), in: source)
    }

    /// `count` 64-byte packets, each to an installed port of the first `targets` apps: every such
    /// app's port once in every `targets` packets (in a scrambled order), from 64 source ports (so
    /// the flows spread over workers).
    static func packets(_ count: Int, targets: Int = apps) -> [[UInt8]] {
        (0..<count).map { index in
            // 617 is prime to 1,000 and to 10: a permutation of the apps.
            let app = (index * 617) % targets
            let bytes = PacketBuilder.ethernet()
                .ipv4(src: IPv4Address(192, 0, 2, 1), dst: IPv4Address(10, 0, 0, 2))
                .tcp(sourcePort: UInt16(40_000 + (index / targets) % 64), destinationPort: port(app))
                .payload(Array(repeating: 0, count: 10)).bytes
            precondition(bytes.count == 64)
            return bytes
        }
    }

    /// A multiplexer with `workers` workers and the 1,000 apps, each with rings of `slotPages`
    /// pages of 128-byte slots and `filtersPerApp` port filters, and a source of `packets` packets
    /// to the first `targets` apps.
    func setUp(workers: Int, filtersPerApp: Int, slotPages: Int, packets: Int, targets: Int = apps) throws {
        let ringPages = 1 + slotPages
        let mux = try Multiplexer(
            MuxConfiguration(
                workers: workers, frames: MuxBench.apps * workers * ringPages + 64, maxApps: MuxBench.apps,
                pagesPerApp: workers * ringPages))
        for index in 0..<MuxBench.apps {
            let app = try mux.registerApp(named: "app\(index)")
            let rings = try mux.createRings(
                for: app.id, presenting: app.binding, slots: slotPages * 4_096 / MuxBench.slotSize,
                slotSize: MuxBench.slotSize)
            for ring in rings { consumers.append(try RingConsumer(core: mux.memory, ring: ring)) }
            apps.append(app)
        }
        // Filter by filter, as apps would (app 0's first, app 1's first, ..., then the second of
        // each), in one batch: one compile, not one per install.
        var requests: [(app: MuxApp, request: FilterRequest)] = []
        for filter in 0..<filtersPerApp {
            for (index, app) in apps.enumerated() {
                let tree = try MuxBench.tree(port: MuxBench.port(index, filter: filter))
                requests.append((app, FilterRequest(name: "app\(index).\(filter)", tree: tree)))
            }
        }
        try mux.withChangesBatched { () throws(MuxError) in
            for (app, request) in requests {
                _ = try mux.install(request, for: app.id, presenting: app.binding)
            }
        }
        self.mux = mux
        self.packets = packets
        extraTree = try MuxBench.tree(port: 60_000)
        if packets > 0 { source = InMemorySource(MuxBench.packets(packets, targets: targets)) }
    }

    /// Empties every ring as the apps would; returns the packets found.
    func drain() -> Int {
        consumers.withUnsafeMutableBufferPointer { consumers in
            var found = 0
            for index in consumers.indices {
                while consumers[index].next() != nil {
                    consumers[index].release()
                    found += 1
                }
            }
            return found
        }
    }

    /// One run over the whole source, measured; the rings are emptied after it, unmeasured.
    func timedRun(_ benchmark: Benchmark) {
        let mux = mux!
        let source = source!
        source.rewind()
        benchmark.startMeasurement()
        let result = try! mux.run(source)
        benchmark.stopMeasurement()
        precondition(result.packets == packets && result.failure == nil)
        let drained = drain()
        precondition(drained == packets, "\(drained) of \(packets) packets delivered")
    }

    /// Installs a filter for app 0 on a port no other filter has.
    func installExtra() -> InstalledMuxFilter {
        try! mux!.install(
            FilterRequest(name: "extra", tree: extraTree!), for: apps[0].id,
            presenting: apps[0].binding)
    }

    func remove(_ filter: InstalledMuxFilter) {
        try! mux!.remove(filter.id, by: apps[0].id, presenting: filter.guardCapability)
    }
}
