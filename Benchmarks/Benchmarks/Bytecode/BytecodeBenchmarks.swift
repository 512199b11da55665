import Benchmark
import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire

/// The interpreter on the `ports` workload: N apps, each binding one TCP or UDP port; a mixed
/// stream where about half the packets hit an installed port.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 1_000)

    func program(ports count: Int) -> Program {
        let trie = DecisionTrie()
        for index in 0..<count {
            let text = "\(index % 2 == 0 ? "tcp" : "udp").dport == \(1024 + index)"
            let source = SourceFile(name: "port", text: text)
            let tree = try! SemanticAnalyzer.analyzeExpression(Parser.parseExpression(source), in: source)
            try! trie.insert(name: "app\(index).1", app: "app\(index)", tree: tree)
        }
        return try! Lowering.lower(trie)
    }

    func stream(ports count: Int) -> [[UInt8]] {
        (0..<1_000).map { index in
            let port = UInt16(1024 + (index * 7919) % (2 * count))
            let source = IPv4Address(10, 0, 0, 1)
            let destination = IPv4Address(10, 0, 1, 2)
            switch index % 4 {
            case 0:
                return PacketBuilder.ethernet().ipv4(src: source, dst: destination).tcp(
                    sourcePort: 40_000, destinationPort: port
                ).bytes
            case 1:
                return PacketBuilder.ethernet().ipv4(src: source, dst: destination).udp(
                    sourcePort: 40_000, destinationPort: port
                ).bytes
            case 2:
                return PacketBuilder.ethernet().ipv6(
                    src: IPv6Address("2001:db8::1")!, dst: IPv6Address("2001:db8::2")!
                )
                .tcp(sourcePort: 40_000, destinationPort: port).bytes
            default: return PacketBuilder.ethernet().arp(senderIP: source, targetIP: destination).bytes
            }
        }
    }

    // The harness's own allocations per iteration, to tell them apart from the interpreter's.
    var noTaps = [Int32](repeating: 0, count: 1)
    Benchmark("Harness only, no packets") { benchmark in
        for _ in benchmark.scaledIterations {
            noTaps.withUnsafeMutableBufferPointer { blackHole($0.count) }
        }
    }

    for count in [1, 1_000, 10_000] {
        let compiled = program(ports: count)
        let interpreter = Interpreter(try! Verifier.verify(compiled))
        let packets = stream(ports: count)
        print(
            "\(count) port filters: \(compiled.byteCount) program bytes, \(compiled.byteCount / count) per filter"
        )
        var taps = [Int32](repeating: 0, count: max(1, compiled.accepts.count))
        Benchmark("Interpreter, 1,000 packets, \(count) port filters") { benchmark in
            for _ in benchmark.scaledIterations {
                taps.withUnsafeMutableBufferPointer { tapBuffer in
                    for packet in packets {
                        packet.withUnsafeBytes { blackHole(interpreter.run($0, taps: tapBuffer)) }
                    }
                }
            }
        }
    }
}
