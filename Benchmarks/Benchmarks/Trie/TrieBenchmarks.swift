import Benchmark
import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWorkloads
import Foundation

/// Resident memory in bytes, from /proc (Linux).
func residentBytes() -> Int {
    let fields =
        (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Issue 3's targets on the `ports` workload of `dpf bench`: inserting and removing 10,000 port
/// filters (one app each), the trie's memory per filter, and a walk whose cost does not grow with
/// the number of filters.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(5),
        maxIterations: 50
    )

    let tenThousand = try! PortsWorkload(filters: 10_000, packets: 1_000).apps.map { app in
        (name: "\(app.name).1", app: app.name, tree: app.tree)
    }

    Benchmark("Insert 10,000 port filters") { benchmark in
        for _ in benchmark.scaledIterations {
            let trie = DecisionTrie()
            benchmark.startMeasurement()
            for filter in tenThousand {
                try! trie.insert(name: filter.name, app: filter.app, tree: filter.tree)
            }
            benchmark.stopMeasurement()
            blackHole(trie)
        }
    }

    Benchmark("Remove 10,000 port filters") { benchmark in
        for _ in benchmark.scaledIterations {
            let trie = DecisionTrie()
            for filter in tenThousand {
                try! trie.insert(name: filter.name, app: filter.app, tree: filter.tree)
            }
            benchmark.startMeasurement()
            for filter in tenThousand { try! trie.remove(named: filter.name) }
            benchmark.stopMeasurement()
            blackHole(trie)
        }
    }

    for count in [1, 10_000] {
        let residentBefore = residentBytes()
        let trie = DecisionTrie()
        for filter in tenThousand.prefix(count) {
            try! trie.insert(name: filter.name, app: filter.app, tree: filter.tree)
        }
        let heapBytes = residentBytes() - residentBefore
        print(
            "trie with \(count) port filters: \(heapBytes / count) resident bytes per filter in all (structure and registry)"
        )
        let stream = try! PortsWorkload(filters: count, packets: 1_000).packets
        let statistics = trie.statistics
        print(
            "trie with \(count) port filters: \(statistics.nodes) nodes, \(statistics.bytes) bytes, \(statistics.bytes / count) bytes per filter"
        )
        Benchmark(
            "Walk 1,000 packets, \(count) port filters",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                for packet in stream { blackHole(trie.verdict(bytes: packet)) }
            }
        }
    }

    // A walk that branches: 100 port filters, plus an exclusive filter on the source address every
    // IPv4 packet of the stream carries, so the node after `ether.type == 0x0800` follows two
    // groups; optionally a tap on every IPv4 packet, so three quarters of the packets carry a tap.
    func expression(_ text: String) -> FilterTree {
        let source = SourceFile(name: "benchmark", text: text)
        return try! SemanticAnalyzer.analyzeExpression(Parser.parseExpression(source), in: source)
    }
    let branchingStream = try! PortsWorkload(filters: 100, packets: 1_000).packets
    for withTap in [false, true] {
        let trie = DecisionTrie()
        // Priority 1: the source filter outranks the port filters, which may then lose to it.
        try! trie.insert(
            name: "source.1", app: "source", priority: 1, tree: expression("ip4.src == 192.0.2.1"))
        for filter in tenThousand.prefix(100) {
            try! trie.insert(name: filter.name, app: filter.app, tree: filter.tree)
        }
        if withTap {
            try! trie.insert(name: "sniffer.1", app: "sniffer", isTap: true, tree: expression("ip4"))
        }
        Benchmark(
            "Walk 1,000 packets, 100 port filters + ip4.src filter\(withTap ? " + ip4 tap" : "")",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                for packet in branchingStream { blackHole(trie.verdict(bytes: packet)) }
            }
        }
    }
}
