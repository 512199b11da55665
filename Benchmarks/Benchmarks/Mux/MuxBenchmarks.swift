import Benchmark
import DPFMemory
import DPFMux

/// The receive ring's per-packet path: a 64-byte packet delivered into a ring through the app's
/// software TLB, then read in place and released by the app's consumer (1,000 per iteration, so
/// the per-packet figure is the iteration's divided by 1,000), with package-benchmark's malloc
/// counts to show it allocates nothing. Once with one critical section per 1,000 packets (a
/// worker's batch), once with one per packet.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions], maxDuration: .seconds(3),
        maxIterations: 10_000)

    let core = try! MemoryCore(
        MemoryCore.Configuration(frames: 64, maxApps: 2, pagesPerApp: 64, maxWorkers: 1))
    let worker = try! core.registerWorker()
    let ring = try! ReceiveRing.create(in: core, for: core.registerApp(), firstPage: 0, pages: 9)
    let ends = RingEnds(writer: RingWriter(ring), consumer: try! RingConsumer(core: core, ring: ring))

    Benchmark("Deliver + consume a 64-byte packet, 1,000 per iteration, one critical section") { benchmark in
        for _ in benchmark.scaledIterations {
            // Locals, not the box's properties: no exclusivity checks per packet.
            var writer = ends.writer
            var consumer = ends.consumer
            let packet = ends.packet
            let sum = core.withCriticalSection(worker) { access in
                var sum = 0
                for index in 0..<UInt64(1_000) {
                    _ = writer.deliver(packet, timestamp: index, tag: 7, through: access)
                    if let got = consumer.next() { sum &+= got.capturedLength }
                    consumer.release()
                }
                return sum
            }
            ends.writer = writer
            ends.consumer = consumer
            precondition(sum == 64_000)
            blackHole(sum)
        }
    }

    Benchmark("Deliver + consume a 64-byte packet, 1,000 per iteration, a critical section each") {
        benchmark in
        for _ in benchmark.scaledIterations {
            var writer = ends.writer
            var consumer = ends.consumer
            let packet = ends.packet
            var sum = 0
            for index in 0..<UInt64(1_000) {
                _ = core.withCriticalSection(worker) { access in
                    writer.deliver(packet, timestamp: index, tag: 7, through: access)
                }
                if let got = consumer.next() { sum &+= got.capturedLength }
                consumer.release()
            }
            ends.writer = writer
            ends.consumer = consumer
            precondition(sum == 64_000)
            blackHole(sum)
        }
    }

    multiplexerBenchmarks()
}

/// The ring's two ends, kept across the harness's calls (the consumer resumes where the writer is).
final class RingEnds: @unchecked Sendable {
    // @unchecked: used by one benchmark thread at a time.
    var writer: RingWriter
    var consumer: RingConsumer
    /// A 64-byte packet, allocated once.
    let packet: UnsafeRawBufferPointer

    init(writer: RingWriter, consumer: RingConsumer) {
        self.writer = writer
        self.consumer = consumer
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        for index in 0..<64 { bytes[index] = UInt8(index) }
        packet = UnsafeRawBufferPointer(bytes)
    }
}
