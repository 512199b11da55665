import Benchmark
import DPFBytecode
import DPFCompiler
import DPFTrie
import DPFWorkloads

/// The interpreter on the `ports` workload (the same filters and packets as `dpf bench`), with
/// package-benchmark's malloc counts to show that running a packet allocates nothing.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 1_000)

    // The harness's own allocations per iteration, to tell them apart from the interpreter's.
    var noTaps = [Int32](repeating: 0, count: 1)
    Benchmark("Harness only, no packets") { benchmark in
        for _ in benchmark.scaledIterations {
            noTaps.withUnsafeMutableBufferPointer { blackHole($0.count) }
        }
    }

    for count in [1, 1_000, 10_000] {
        let workload = try! PortsWorkload(filters: count, packets: 1_000)
        let trie = DecisionTrie()
        for app in workload.apps { try! trie.insert(name: "\(app.name).1", app: app.name, tree: app.tree) }
        let compiled = try! Lowering.lower(trie)
        let interpreter = Interpreter(try! Verifier.verify(compiled))
        print(
            "\(count) port filters: \(compiled.byteCount) program bytes, \(compiled.byteCount / count) per filter"
        )
        var taps = [Int32](repeating: 0, count: max(1, compiled.filters.count))
        Benchmark("Interpreter, 1,000 packets, \(count) port filters") { benchmark in
            for _ in benchmark.scaledIterations {
                taps.withUnsafeMutableBufferPointer { tapBuffer in
                    for packet in workload.packets {
                        packet.withUnsafeBytes { blackHole(interpreter.run($0, taps: tapBuffer)) }
                    }
                }
            }
        }
    }
}
