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
        // Positions are published lazily while packets flow; all of them when the run ends.
        defer { for worker in workers { worker.publishPositions(memory: memory) } }
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

    /// K workers, the calling thread the first of them. The workers take turns reading the
    /// source: worker `n mod K` reads batch n (once batch n − 1 is published, so the source is
    /// read in order) and spreads it by flow hash; then every worker does its share of every batch,
    /// in order. No thread does nothing but read, so K workers use K cores.
    private func runPipelined(_ source: PacketSource) throws(MuxError) -> MuxRunResult {
        let pipeline = Pipeline(
            depth: configuration.pipelineDepth, batchSize: configuration.batchSize, workers: workers.count,
            source: source, hasher: FlowHasher(linkType: configuration.linkType))
        var threads: [WorkerThread] = []
        for (index, worker) in workers.enumerated().dropFirst() {
            guard
                let thread = WorkerThread({ [self] in
                    pipeline.work(index) { batch, share in
                        worker.process(batch, share: share, snapshots: snapshots, memory: memory)
                    }
                })
            else {
                pipeline.abandon()
                for thread in threads { thread.join() }
                throw .invalidConfiguration("the system refused a worker thread")
            }
            threads.append(thread)
        }
        pipeline.work(0) { batch, share in
            workers[0].process(batch, share: share, snapshots: snapshots, memory: memory)
        }
        for thread in threads { thread.join() }
        return pipeline.result
    }
}

/// The batches in flight between the source and the workers: a ring of `depth` slots. Batch n
/// lives in slot n mod depth; it is read (and refilled later) by worker n mod K, only once every
/// worker has done the batch the slot held, and done by each worker only once it is published.
/// Each handoff is a pair of atomic counters, not a lock.
final class Pipeline: @unchecked Sendable {
    // @unchecked: a slot is written by its reader, then only read by the workers until every one
    // has finished it; the counters order the two. The source is used by one reader at a time,
    // in batch order (each read waits for the previous batch's publication). `packets` and
    // `failure` are written by readers in turn, the same way, and read after every worker is done.
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
    private let source: PacketSource
    private let hasher: FlowHasher
    /// Batches published (`state >> 1`) and whether the source has ended, failed or the run was
    /// abandoned (bit 0: no batch beyond those published will come), in one word, so a reader
    /// publishes its last batch and the end together.
    private let state = Atomic<Int>(0)
    /// Per worker, batches it has finished.
    private let done: UnsafeMutablePointer<Atomic<Int>>
    private let workerCount: Int
    private let parker = Parker()
    private var packets = 0
    private var failure: PacketSourceError?

    init(depth: Int, batchSize: Int, workers: Int, source: PacketSource, hasher: FlowHasher) {
        slots = (0..<depth).map { _ in Slot(batchSize: batchSize, workers: workers) }
        workerCount = workers
        self.source = source
        self.hasher = hasher
        done = .allocate(capacity: workers)
        for index in 0..<workers { (done + index).initialize(to: Atomic(0)) }
    }

    deinit {
        done.deinitialize(count: workerCount)
        done.deallocate()
    }

    /// What the run read; valid once every worker has returned from `work`.
    var result: MuxRunResult { MuxRunResult(packets: packets, failure: failure) }

    /// Ends the run early (a worker thread could not start): workers return at once.
    func abandon() {
        state.bitwiseOr(1, ordering: .sequentiallyConsistent)
        parker.notify()
    }

    // Sequentially consistent (here and below): a `Parker` needs the condition's store ordered
    // before its check for sleepers.
    private var current: (published: Int, ended: Bool) {
        let word = state.load(ordering: .sequentiallyConsistent)
        return (word >> 1, word & 1 != 0)
    }

    /// Worker `index`'s loop: reads its turns' batches, and does its share of every batch in
    /// order, until the source ends.
    func work(_ index: Int, _ process: (SourceBatch, UnsafeBufferPointer<Int32>) -> Void) {
        // The next batch to do a share of, and the next this worker reads (its turns: index,
        // index + K, ...). Reading comes first whenever it can: a read ahead lets the other workers
        // go on while this one catches up with its shares.
        var next = 0
        var nextRead = index
        while true {
            if canRead(nextRead) {
                read(nextRead)
                nextRead += workerCount
                continue
            }
            let now = current
            if now.published > next {
                let slot = slots[next % slots.count]
                process(slot.batch, slot.share(of: index))
                next += 1
                done[index].store(next, ordering: .sequentiallyConsistent)
                parker.notify()
                continue
            }
            if now.ended { return }
            parker.wait {
                let now = current
                return now.published > next || now.ended || canRead(nextRead)
            }
        }
    }

    /// Whether batch `sequence` can be read now: the source has not ended, the batch before it
    /// is published (the source is read in order), and every worker is done with the batch its
    /// slot last held.
    private func canRead(_ sequence: Int) -> Bool {
        let now = current
        guard !now.ended, now.published == sequence else { return false }
        let reusable = sequence - slots.count + 1
        return (0..<workerCount).allSatisfy { done[$0].load(ordering: .sequentiallyConsistent) >= reusable }
    }

    /// Reads batch `sequence` into its slot (`canRead` said it may).
    private func read(_ sequence: Int) {
        let slot = slots[sequence % slots.count]
        var more = false
        // A source with nothing yet (a live one, say) may hand back an empty batch: ask again.
        repeat {
            do { more = try source.nextBatch(into: slot.batch) } catch { failure = error }
        } while more && failure == nil && slot.batch.count == 0
        let published = slot.batch.count > 0 ? sequence + 1 : sequence
        if slot.batch.count > 0 {
            slot.spread(by: hasher)
            packets += slot.batch.count
        }
        // The batch and the end in one store; `packets` and `failure` are written before it.
        state.store(published << 1 | (!more || failure != nil ? 1 : 0), ordering: .sequentiallyConsistent)
        parker.notify()
    }
}
