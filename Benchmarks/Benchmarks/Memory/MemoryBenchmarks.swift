import Benchmark
import DPFMemory

/// The memory core's hot path and its heaviest control operation: a TLB-hit translation (1,000
/// per iteration, so the per-translation figure is the iteration's divided by 1,000) with
/// package-benchmark's malloc counts to show it allocates nothing; a capability check (1,000 per
/// iteration); repossessing 1,000 frames by force (bindings broken, TLBs shot down, queued writes
/// cancelled, the frames zeroed).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 10_000)

    let core = try! MemoryCore(
        MemoryCore.Configuration(frames: 64, maxApps: 2, pagesPerApp: 64, maxWorkers: 1))
    let app = try! core.registerApp()
    let worker = try! core.registerWorker()
    var handles: [CapabilityHandle] = []
    for page in 0..<UInt32(8) {
        let grant = try! core.allocate(for: .app(app))
        try! core.bind(app, page: page, to: grant.frame, rights: [.read, .write], using: grant.capability)
        handles.append(grant.capability)
    }

    // The harness's own cost per iteration: the same loop without translating.
    Benchmark("Harness only, 1,000 iterations of the loop") { benchmark in
        for _ in benchmark.scaledIterations {
            var sum: UInt32 = 0
            for index in 0..<UInt32(1_000) { sum &+= index & 7 }
            blackHole(sum)
        }
    }

    Benchmark("TLB-hit translation, 1,000 per iteration") { benchmark in
        for _ in benchmark.scaledIterations {
            let sum = core.withCriticalSection(worker) { access in
                var sum: UInt32 = 0
                for index in 0..<UInt32(1_000) {
                    sum &+= access.translate(app, page: index & 7, for: .write)?.frame ?? 0
                }
                return sum
            }
            blackHole(sum)
        }
    }

    Benchmark("TLB-hit store of a word, 1,000 per iteration") { benchmark in
        for _ in benchmark.scaledIterations {
            let stored = core.withCriticalSection(worker) { access in
                var stored = 0
                for index in 0..<UInt32(1_000)
                where access.store(UInt64(index), to: app, page: index & 7, offset: 64) {
                    stored += 1
                }
                return stored
            }
            blackHole(stored)
        }
    }

    let handle = handles[3]
    Benchmark("Capability check, 1,000 per iteration") { benchmark in
        for _ in benchmark.scaledIterations {
            var granted = 0
            for _ in 0..<1_000 where core.check(handle, rights: [.read, .write], by: .app(app)) {
                granted += 1
            }
            blackHole(granted)
        }
    }

    // Each iteration builds a fresh core with 1,000 of an app's frames (half of them bound, a
    // write queued on some), asks for them back, and measures only the forced repossession.
    Benchmark(
        "Repossess 1,000 frames",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(5), maxIterations: 200)
    ) { benchmark in
        let big = try! MemoryCore(
            MemoryCore.Configuration(frames: 1_024, maxApps: 2, pagesPerApp: 512, maxWorkers: 2))
        let victim = try! big.registerApp(guaranteedFrames: 24)
        let bigWorker = try! big.registerWorker()
        for index in 0..<UInt32(1_024) {
            let grant = try! big.allocate(for: .app(victim))
            if index < 512 {
                try! big.bind(
                    victim, page: index, to: grant.frame, rights: [.read, .write], using: grant.capability)
                if index % 8 == 0 { try! big.queueWrite([1, 2, 3, 4], to: victim, page: index, offset: 0) }
            }
        }
        big.withCriticalSection(bigWorker) { access in
            for page in 0..<UInt32(512) { _ = access.store(UInt64(page), to: victim, page: page, offset: 0) }
        }
        try! big.requestRevocation(from: victim, count: 1_000, deadline: 1)
        benchmark.startMeasurement()
        let taken = big.expireDeadlines(now: 1)
        benchmark.stopMeasurement()
        precondition(taken[victim]?.count == 1_000)
        blackHole(taken)
    }
}
