import Benchmark
import DPFFilter
import DPFSyntax
import DPFWire

/// The front end's costs: compiling many filters (parse + analyse + normalise), and the reference
/// evaluator, which is the oracle rather than an engine but sets the baseline later engines beat.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    /// `count` apps with one TCP or UDP port filter each, as the `ports` workload binds them.
    func portFilters(_ count: Int) -> SourceFile {
        var text = ""
        for index in 0..<count {
            let proto = index % 2 == 0 ? "tcp" : "udp"
            text += "app a\(index) {\n    \(proto).dport == \(1024 + index)\n}\n"
        }
        return SourceFile(name: "ports.dpf", text: text)
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
    Benchmark("Reference evaluator: 4 filters, 1,000 packets", configuration: .init(scalingFactor: .kilo)) {
        benchmark in
        for index in benchmark.scaledIterations {
            blackHole(ReferenceEvaluator.matchingFilters(web, packets[index % packets.count]))
        }
    }
}
