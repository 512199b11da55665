import Synchronization

/// A translation the TLB gave: the frame behind a virtual page, the rights bound, and the frame's
/// generation when the translation was made.
public struct Translation: Hashable, Sendable {
    public let frame: UInt32
    public let rights: Rights
    public let generation: UInt64

    @usableFromInline
    init(frame: UInt32, rights: Rights, generation: UInt64) {
        self.frame = frame
        self.rights = rights
        self.generation = generation
    }
}

/// Hits and misses of one app's software TLB.
public struct TLBStatistics: Hashable, Sendable {
    public var hits: UInt64
    public var misses: UInt64
}

/// Every app's software TLB: a direct-mapped cache of `entriesPerApp` translations per app slot,
/// indexed by the low bits of the virtual page.
///
/// An entry is four atomic words: a sequence number (odd while being written: a per-entry
/// seqlock), the page + 1 (0 is empty), the packed frame and rights (as in a page-table entry) and
/// the frame's generation when the entry was filled. A lookup hits when the sequence is even and
/// unchanged around the reads, the page matches, and the generation is still the frame's: so an
/// entry goes stale the moment the control plane moves the frame's generation on, before it is
/// cleared. Hits and misses are counted per (app, worker), each counter written by its worker
/// alone, so counting is a plain load and store.
final class SoftwareTLBs: @unchecked Sendable {
    // @unchecked: every word is an atomic; the pointers are fixed for the object's life.
    static let entriesPerApp = 64
    static let wordsPerEntry = 4

    let apps: Int
    let workers: Int
    let words: UnsafeMutablePointer<Atomic<UInt64>>
    let counters: UnsafeMutablePointer<Atomic<UInt64>>
    /// Words between one worker's counters and the next's.
    let counterStride: Int

    init(apps: Int, workers: Int) {
        self.apps = apps
        self.workers = workers
        let wordCount = apps * SoftwareTLBs.entriesPerApp * SoftwareTLBs.wordsPerEntry
        words = .allocate(capacity: wordCount)
        for index in 0..<wordCount { (words + index).initialize(to: Atomic(0)) }
        // Worker-major, each worker's block padded to whole cache lines with a line between
        // blocks: a worker's counting never shares a line with another worker's.
        counterStride = (apps * 2 + 7) / 8 * 8 + 8
        counters = .allocate(capacity: workers * counterStride)
        for index in 0..<(workers * counterStride) { (counters + index).initialize(to: Atomic(0)) }
        view = TLBView(words: words, counters: counters, counterStride: counterStride)
    }

    deinit {
        words.deinitialize(count: apps * SoftwareTLBs.entriesPerApp * SoftwareTLBs.wordsPerEntry)
        words.deallocate()
        counters.deinitialize(count: workers * counterStride)
        counters.deallocate()
    }

    /// The words and counters as plain pointers: what workers use, with no reference counting.
    let view: TLBView

    /// Clears every entry of every app that points at a frame in `frames` (a shootdown).
    func flush(frames: (UInt32) -> Bool) {
        for app in 0..<UInt32(apps) {
            for slot in 0..<UInt32(SoftwareTLBs.entriesPerApp) {
                let base = TLBView.entry(app: app, page: slot)
                let tag = words[base + 1].load(ordering: .relaxed)
                guard tag != 0 else { continue }
                if frames(PageTables.frame(words[base + 2].load(ordering: .relaxed))) {
                    view.write(app: app, slotOf: slot, tag: 0, packed: 0, generation: 0, force: true)
                }
            }
        }
    }

    /// Clears one app's entry for `page`, if it holds that page.
    func flush(app: AppID, page: UInt32) {
        if view.lookup(app: app.index, page: page) != nil {
            view.write(app: app.index, slotOf: page, tag: 0, packed: 0, generation: 0, force: true)
        }
    }

    /// The entries that would hit now: (page, frame) pairs (for the dump and coherence tests).
    func validEntries(of app: AppID, arena: FrameArena) -> [(page: UInt32, frame: UInt32)] {
        var result: [(page: UInt32, frame: UInt32)] = []
        for slot in 0..<UInt32(SoftwareTLBs.entriesPerApp) {
            let base = TLBView.entry(app: app.index, page: slot)
            let tag = words[base + 1].load(ordering: .relaxed)
            guard tag != 0, let (packed, generation) = view.lookup(app: app.index, page: UInt32(tag - 1))
            else {
                continue
            }
            let frame = PageTables.frame(packed)
            if arena.generation(of: frame) == generation { result.append((UInt32(tag - 1), frame)) }
        }
        return result.sorted { $0.page < $1.page }
    }

    func statistics(of app: AppID) -> TLBStatistics {
        var result = TLBStatistics(hits: 0, misses: 0)
        for worker in 0..<workers {
            let counter = worker * counterStride + Int(app.index) * 2
            result.hits += counters[counter].load(ordering: .relaxed)
            result.misses += counters[counter + 1].load(ordering: .relaxed)
        }
        return result
    }

    func resetStatistics(of app: AppID) {
        for worker in 0..<workers {
            let counter = worker * counterStride + Int(app.index) * 2
            counters[counter].store(0, ordering: .relaxed)
            counters[counter + 1].store(0, ordering: .relaxed)
        }
    }
}

/// One app table's TLB words as plain pointers (see `SoftwareTLBs`).
@usableFromInline
struct TLBView {
    @usableFromInline let words: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let counters: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let counterStride: Int

    @usableFromInline
    init(
        words: UnsafeMutablePointer<Atomic<UInt64>>, counters: UnsafeMutablePointer<Atomic<UInt64>>,
        counterStride: Int
    ) {
        self.words = words
        self.counters = counters
        self.counterStride = counterStride
    }

    @inlinable @inline(__always)
    static func entry(app: UInt32, page: UInt32) -> Int {
        (Int(app) * 64 + Int(page) & 63) * 4  // SoftwareTLBs.entriesPerApp, .wordsPerEntry
    }

    @inlinable @inline(__always)
    func count(app: UInt32, worker: Int, miss: Bool) {
        let counter = worker * counterStride + Int(app) * 2 + (miss ? 1 : 0)
        counters[counter].store(counters[counter].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// The cached packed entry and generation for `page`, if the entry is for that page and was
    /// read whole; the caller checks the generation.
    @inlinable @inline(__always)
    func lookup(app: UInt32, page: UInt32) -> (packed: UInt64, generation: UInt64)? {
        let base = TLBView.entry(app: app, page: page)
        let before = words[base].load(ordering: .acquiring)
        let tag = words[base + 1].load(ordering: .relaxed)
        let packed = words[base + 2].load(ordering: .relaxed)
        let generation = words[base + 3].load(ordering: .relaxed)
        atomicMemoryFence(ordering: .acquiring)
        let after = words[base].load(ordering: .relaxed)
        guard before & 1 == 0, before == after, tag == UInt64(page) &+ 1 else { return nil }
        return (packed, generation)
    }

    /// Writes an entry if no one else is writing it (a fill that loses the race is just skipped);
    /// `force` waits instead (the control plane's flush must not be skipped).
    @usableFromInline
    func write(app: UInt32, slotOf page: UInt32, tag: UInt64, packed: UInt64, generation: UInt64, force: Bool)
    {
        let base = TLBView.entry(app: app, page: page)
        var sequence = words[base].load(ordering: .relaxed)
        while true {
            if sequence & 1 == 0 {
                let (exchanged, original) = words[base].compareExchange(
                    expected: sequence, desired: sequence &+ 1, ordering: .acquiring)
                if exchanged { break }
                sequence = original
            } else {
                sequence = words[base].load(ordering: .relaxed)
            }
            if !force { return }
        }
        atomicMemoryFence(ordering: .releasing)
        words[base + 1].store(tag, ordering: .relaxed)
        words[base + 2].store(packed, ordering: .relaxed)
        words[base + 3].store(generation, ordering: .relaxed)
        words[base].store(sequence &+ 2, ordering: .releasing)
    }
}
