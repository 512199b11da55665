import DPFMux
import DPFTestSupport
import Synchronization
import Testing

/// Statistics read while workers run are batch boundaries: they balance every time, and never go
/// backwards.
@Suite struct MuxLiveStatisticsTests {
    @Test(arguments: [1, 2])
    func statisticsReadMidRunBalance(workers: Int) throws {
        let harness = try MuxHarness(workers: workers, batchSize: 32)
        try harness.install("web", app: "web", "tcp.dport == 80 or tcp.dport == 443")
        try harness.install("dns", app: "dns", "udp")
        try harness.install("all", app: "audit", "ip4", isTap: true)
        var random = RandomPackets(seed: 42)
        let packets = random.batch(2_000).map(\.bytes)
        let mux = harness.mux
        let finished = Atomic<Bool>(false)
        let runner = TestThread {
            let source = InMemorySource(packets)
            for _ in 0..<5 {
                source.rewind()
                _ = try? mux.run(source)
            }
            finished.store(true, ordering: .releasing)
        }
        var reads = 0
        var last: UInt64 = 0
        while !finished.load(ordering: .acquiring) || reads == 0 {
            let statistics = mux.statistics()
            #expect(statistics.isBalanced)
            #expect(statistics.received >= last)
            last = statistics.received
            reads += 1
        }
        runner.join()
        let final = mux.statistics()
        #expect(final.isBalanced && final.received == 10_000)
    }
}
