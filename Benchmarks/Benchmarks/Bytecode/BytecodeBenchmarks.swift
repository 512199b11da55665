import Benchmark
import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFTrie
import DPFWorkloads

/// The interpreter on the `ports` workload (the same filters and packets as `dpf bench`), with
/// package-benchmark's malloc counts to show that running a packet allocates nothing, and the
/// hand-written demultiplexer for those filters as the baseline.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 1_000)

    // The harness's own allocations per iteration, to tell them apart from the interpreter's.
    var noOwners = [Int32](repeating: 0, count: 1)
    Benchmark("Harness only, no packets") { benchmark in
        for _ in benchmark.scaledIterations {
            noOwners.withUnsafeMutableBufferPointer { blackHole($0.count) }
        }
    }

    for count in [1, 1_000, 10_000] {
        let workload = try! PortsWorkload(filters: count, packets: 1_000)
        let compiled = try! Lowering.lower(try! workload.trie())
        let engine = BytecodeEngine(Interpreter(try! Verifier.verify(compiled)))
        print(
            "\(count) port filters: \(compiled.byteCount) program bytes, \((Double(compiled.byteCount) / Double(count) * 10).rounded() / 10) per filter"
        )
        // Verdict buffers are allocated once; the engine's batch entry point writes into them.
        let batch = PacketBatch(workload.packets)
        let verdicts = engine.makeVerdicts(packets: batch.count)
        Benchmark("Interpreter, 1,000 packets, \(count) port filters") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(engine.sumOfOwners(batch, using: verdicts))
            }
        }
        // The baseline: what a person writes by hand for these filters (DPFWorkloads).
        let handwritten = HandwrittenDemux(workload)
        Benchmark("Handwritten demux, 1,000 packets, \(count) port filters") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(batch.sum { Int(handwritten.owner($0)) })
            }
        }
    }

    // The interpreter's fixed cost per packet: a program that only halts, and one that also
    // computes the IPv4 header-length base register in its prologue.
    let shell = PacketBatch(try! PortsWorkload(filters: 1, packets: 1_000).packets)
    for (name, code) in [
        ("halt", "0000  halt"), ("shift, halt", "0000  shift    r1 = r0 + 4*(u8[14] & 0xf)\n0001  halt"),
    ] {
        let program = try! Assembler.assemble("program registers 2 link 1\n" + code)
        let engine = BytecodeEngine(Interpreter(try! Verifier.verify(program)))
        let verdicts = engine.makeVerdicts(packets: shell.count)
        Benchmark("Interpreter, 1,000 packets, program: \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(engine.sumOfOwners(shell, using: verdicts))
            }
        }
    }

    // A fresh program after an update: the whole trie is lowered and verified again.
    let largeTrie = try! PortsWorkload(filters: 10_000, packets: 1).trie()
    Benchmark(
        "Lower and verify, 10,000 port filters",
        configuration: .init(metrics: [.wallClock], maxIterations: 50)
    ) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! Verifier.verify(try! Lowering.lower(largeTrie)))
        }
    }
}
