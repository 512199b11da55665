import Benchmark
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire
import Foundation

/// Resident memory in bytes, from /proc (Linux).
func residentBytes() -> Int {
    let fields =
        (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Issue 3's targets: inserting and removing 10,000 port filters (one app each), the trie's memory
/// per filter, and a walk whose cost does not grow with the number of filters.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(5),
        maxIterations: 50
    )

    /// `tcp.dport == P` or `udp.dport == P`, as analysed trees (parsing is not what is measured).
    func portFilters(_ count: Int) -> [(name: String, app: String, tree: FilterTree)] {
        (0..<count).map { index in
            let text = "\(index % 2 == 0 ? "tcp" : "udp").dport == \(1024 + index)"
            let source = SourceFile(name: "port", text: text)
            let tree = try! SemanticAnalyzer.analyzeExpression(Parser.parseExpression(source), in: source)
            return ("app\(index).1", "app\(index)", tree)
        }
    }

    let tenThousand = portFilters(10_000)

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

    /// A mixed stream: TCP and UDP to installed and uninstalled ports, IPv4 and IPv6, some ARP.
    func packets(ports: Int) -> [Packet] {
        (0..<1_000).map { index in
            let port = UInt16(1024 + (index * 7919) % (2 * max(ports, 1)))
            let source = IPv4Address(10, 0, 0, 1)
            let destination = IPv4Address(10, 0, 1, 2)
            switch index % 5 {
            case 0:
                return PacketBuilder.ethernet().ipv4(src: source, dst: destination).tcp(
                    sourcePort: 40_000, destinationPort: port
                ).packet
            case 1:
                return PacketBuilder.ethernet().ipv4(src: source, dst: destination).udp(
                    sourcePort: 40_000, destinationPort: port
                ).packet
            case 2:
                return PacketBuilder.ethernet().ipv6(
                    src: IPv6Address("2001:db8::1")!, dst: IPv6Address("2001:db8::2")!
                )
                .tcp(sourcePort: 40_000, destinationPort: port).packet
            case 3: return PacketBuilder.ethernet().arp(senderIP: source, targetIP: destination).packet
            default: return PacketBuilder.ethernet().ipv4(src: source, dst: destination).icmp4(type: 8).packet
            }
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
        let stream = packets(ports: count)
        let statistics = trie.statistics
        print(
            "trie with \(count) port filters: \(statistics.nodes) nodes, \(statistics.bytes) bytes, \(statistics.bytes / count) bytes per filter"
        )
        Benchmark(
            "Walk 1,000 packets, \(count) port filters",
            configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxIterations: 1_000)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                for packet in stream { blackHole(trie.verdict(for: packet)) }
            }
        }
    }
}
