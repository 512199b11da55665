import Benchmark
import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFWire
import DPFWorkloads

/// The front end's costs: compiling many filters (parse + analyse + normalise), and the reference
/// evaluator, which is the oracle rather than an engine but sets the baseline later engines beat.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    /// The `ports` workload's apps, one TCP or UDP port filter each, as filter-file text.
    func portFilters(_ count: Int) -> SourceFile {
        let apps = try! PortsWorkload(filters: count, packets: 1).apps
        return SourceFile(
            name: "ports.dpf", text: apps.map { "app \($0.name) {\n    \($0.dpf)\n}\n" }.joined())
    }

    for count in [100, 1_000] {
        let source = portFilters(count)
        Benchmark("Compile \(count) port filters", configuration: .init(scalingFactor: .one)) { benchmark in
            for _ in benchmark.scaledIterations {
                let file = try Parser.parseFile(source)
                blackHole(try SemanticAnalyzer.analyze([file]))
            }
        }
    }

    let web = try! SemanticAnalyzer.analyze([
        Parser.parseFile(
            SourceFile(
                name: "web.dpf",
                text: """
                    app web priority 10 {
                        http:  tcp.dport == 80 and ip4.dst in 10.1.0.0/16
                        https: tcp.dport == 443
                    }
                    app dns { udp.dport == 53 or udp.sport == 53 }
                    app voice { vlan.id == 100 and udp.dport in 16384..32767 }
                    """))
    ]).filterSet
    let packets = [
        PacketBuilder.ethernet().ipv4(src: IPv4Address(192, 0, 2, 7), dst: IPv4Address(10, 1, 0, 5))
            .tcp(sourcePort: 40_000, destinationPort: 80).packet,
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 9), dst: IPv4Address(10, 0, 0, 53))
            .udp(sourcePort: 33_000, destinationPort: 53).packet,
        PacketBuilder.ethernet().vlan(id: 100).ipv4(
            src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2)
        )
        .udp(sourcePort: 16_384, destinationPort: 16_386).packet,
        PacketBuilder.ethernet().ipv6(src: IPv6Address("2001:db8::1")!, dst: IPv6Address("2001:db8::2")!)
            .tcp(sourcePort: 1, destinationPort: 22).packet,
    ]
    // The trees are gathered once: the timing covers evaluation only.
    let trees = web.allFilters.map(\.filter.tree)
    Benchmark("Reference evaluator: 4 filters, 1,000 packets", configuration: .init(scalingFactor: .kilo)) {
        benchmark in
        for index in benchmark.scaledIterations {
            let packet = packets[index % packets.count]
            blackHole(trees.reduce(0) { $0 + (ReferenceEvaluator.matches($1, packet) ? 1 : 0) })
        }
    }
}
