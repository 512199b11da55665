import DPFMemory
import DPFTrie
import Synchronization

/// How a run over a source ended.
public struct MuxRunResult: Sendable {
    /// Packets the source delivered (every one was demultiplexed).
    public let packets: Int
    /// Why the source stopped early, if it did; what it read before is counted.
    public let failure: PacketSourceError?
}

extension Multiplexer {
    /// Demultiplexes every packet of `source` into the apps' rings and returns when the source
    /// ends (or fails: the packets read before the failure are demultiplexed, then the failure is
    /// in the result). With one worker the calling thread does the work; with K it reads the
    /// source, spreads each batch's packets over K worker threads by a symmetric flow hash (both
    /// directions of a flow go to one worker, which keeps their order), and keeps up to
    /// `pipelineDepth` batches in flight. Filters, rings and memory may change meanwhile, from
    /// other threads. One run at a time.
    public func run(_ source: PacketSource) throws(MuxError) -> MuxRunResult {
        guard source.linkType == configuration.linkType else {
            throw .invalidConfiguration(
                "the source's link type is \(source.linkType), the multiplexer's \(configuration.linkType)")
        }
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { throw .busy }
        defer { running.store(false, ordering: .releasing) }
        if workers.count == 1 { return runInline(source) }
        return try runPipelined(source)
    }

    private func runInline(_ source: PacketSource) -> MuxRunResult {
        let batch = SourceBatch(
            capacity: configuration.batchSize,
            byteCapacity: configuration.batchSize * RingLayout.defaultSlotSize)
        var packets = 0
        while true {
            var more = false
            var failure: PacketSourceError?
            do { more = try source.nextBatch(into: batch) } catch { failure = error }
            if batch.count > 0 {
                workers[0].process(batch, share: nil, snapshots: snapshots, memory: memory)
                packets += batch.count
            }
            if let failure { return MuxRunResult(packets: packets, failure: failure) }
            if !more { return MuxRunResult(packets: packets, failure: nil) }
        }
    }

    private func runPipelined(_ source: PacketSource) throws(MuxError) -> MuxRunResult {
        let pipeline = Pipeline(
            depth: configuration.pipelineDepth, batchSize: configuration.batchSize, workers: workers.count)
        let hasher = FlowHasher(linkType: configuration.linkType)
        var threads: [WorkerThread] = []
        for (index, worker) in workers.enumerated() {
            guard
                let thread = WorkerThread({ [self] in
                    pipeline.work(index) { batch, share in
                        worker.process(batch, share: share, snapshots: snapshots, memory: memory)
                    }
                })
            else {
                pipeline.finish()
                for thread in threads { thread.join() }
                throw .invalidConfiguration("the system refused a worker thread")
            }
            threads.append(thread)
        }
        var packets = 0
        var failure: PacketSourceError?
        var sequence = 0
        while failure == nil {
            let slot = pipeline.slotForWriting(sequence)
            var more = false
            do { more = try source.nextBatch(into: slot.batch) } catch { failure = error }
            if slot.batch.count > 0 {
                slot.spread(by: hasher)
                packets += slot.batch.count
                pipeline.publish(sequence)
                sequence += 1
            }
            if !more { break }
        }
        pipeline.finish()
        for thread in threads { thread.join() }
        return MuxRunResult(packets: packets, failure: failure)
    }
}

/// The batches in flight between the source thread and the workers: a ring of `depth` slots.
/// Batch n lives in slot n mod depth; the source refills a slot only once every worker has done
/// the batch in it, and a worker does batch n only once the source has published it. Each batch
/// is handed over with two atomic counters, not a lock.
final class Pipeline: @unchecked Sendable {
    // @unchecked: a slot is written by the source thread, then only read by the workers until
    // every one has finished it; the counters order the two.
    final class Slot: @unchecked Sendable {
        let batch: SourceBatch
        /// Per worker, the indices of the packets it takes.
        let shares: [UnsafeMutableBufferPointer<Int32>]
        var counts: [Int]

        init(batchSize: Int, workers: Int) {
            batch = SourceBatch(capacity: batchSize, byteCapacity: batchSize * RingLayout.defaultSlotSize)
            shares = (0..<workers).map { _ in .allocate(capacity: batchSize) }
            counts = Array(repeating: 0, count: workers)
        }

        deinit { for share in shares { share.deallocate() } }

        /// Assigns each packet to a worker by its flow hash.
        func spread(by hasher: FlowHasher) {
            for worker in counts.indices { counts[worker] = 0 }
            let workers = counts.count
            for index in 0..<batch.count {
                let worker = hasher.worker(for: hasher.hash(batch.views[index]), of: workers)
                shares[worker][counts[worker]] = Int32(truncatingIfNeeded: index)
                counts[worker] += 1
            }
        }

        func share(of worker: Int) -> UnsafeBufferPointer<Int32> {
            UnsafeBufferPointer(rebasing: UnsafeBufferPointer(shares[worker])[0..<counts[worker]])
        }
    }

    let slots: [Slot]
    /// Batches published by the source.
    private let published = Atomic<Int>(0)
    private let finished = Atomic<Bool>(false)
    /// Per worker, batches it has finished.
    private let done: UnsafeMutablePointer<Atomic<Int>>
    private let workerCount: Int
    private let workersWait = Parker()
    private let sourceWait = Parker()

    init(depth: Int, batchSize: Int, workers: Int) {
        slots = (0..<depth).map { _ in Slot(batchSize: batchSize, workers: workers) }
        workerCount = workers
        done = .allocate(capacity: workers)
        for index in 0..<workers { (done + index).initialize(to: Atomic(0)) }
    }

    deinit {
        done.deinitialize(count: workerCount)
        done.deallocate()
    }

    /// The slot for batch `sequence`, once every worker has finished the batch it held.
    func slotForWriting(_ sequence: Int) -> Slot {
        let reusable = sequence - slots.count + 1
        sourceWait.wait {
            (0..<workerCount).allSatisfy { done[$0].load(ordering: .acquiring) >= reusable }
        }
        return slots[sequence % slots.count]
    }

    func publish(_ sequence: Int) {
        // Sequentially consistent stores (here and below): a `Parker` needs the condition's store
        // ordered before its check for sleepers.
        published.store(sequence + 1, ordering: .sequentiallyConsistent)
        workersWait.notify()
    }

    /// No more batches: workers finish what was published and return.
    func finish() {
        finished.store(true, ordering: .sequentiallyConsistent)
        workersWait.notify()
    }

    /// Worker `index`'s loop: each published batch in order, its own share of it.
    func work(_ index: Int, _ process: (SourceBatch, UnsafeBufferPointer<Int32>) -> Void) {
        var next = 0
        while true {
            workersWait.wait {
                published.load(ordering: .acquiring) > next || finished.load(ordering: .acquiring)
            }
            guard published.load(ordering: .acquiring) > next else { return }
            let slot = slots[next % slots.count]
            process(slot.batch, slot.share(of: index))
            next += 1
            done[index].store(next, ordering: .sequentiallyConsistent)
            sourceWait.notify()
        }
    }
}
