import DPFFilter
import DPFMemory
import DPFMux
import DPFTrie
import DPFWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A thread a test starts and joins (a plain pthread, with the system's default stack).
final class TestThread: @unchecked Sendable {
    // @unchecked: the handle is written once, by the creating thread, before `join`.
    private var handle: pthread_t?

    init(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
        handle = thread
    }

    func join() {
        if let handle { pthread_join(handle, nil) }
        handle = nil
    }
}

/// A value shared between test threads, behind a pthread mutex. (Not `Mutex`: on Linux its
/// contended path parks in futex calls ThreadSanitizer does not see, so TSan reports the accesses
/// it orders as races.)
final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is touched only while `mutex` is held.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// An in-memory source that counts the packets it has handed out, so another thread can tell
/// how far a run has got without asking the multiplexer.
final class CountingSource: PacketSource {
    let inner: InMemorySource
    private let counter: Counter

    final class Counter: Sendable {
        let packets = Atomic<Int>(0)
    }

    init(_ packets: [[UInt8]], counter: Counter) {
        inner = InMemorySource(packets)
        self.counter = counter
    }

    var linkType: LinkType { inner.linkType }

    func nextBatch(into batch: SourceBatch) throws(PacketSourceError) -> Bool {
        let more = try inner.nextBatch(into: batch)
        counter.packets.add(batch.count, ordering: .sequentiallyConsistent)
        return more
    }
}

/// A packet read from a ring, copied out: which app and ring, its tag and bytes.
struct DrainedPacket: Sendable {
    let app: String
    let ring: Int
    let tag: UInt64
    let bytes: [UInt8]
    let wireLength: Int
}

/// Packets whose last eight payload bytes carry two numbers (a flow or packet number and a
/// sequence or run number), so a test can tell every packet apart wherever it lands.
enum NumberedPackets {
    /// `builder` with a payload of `padding` zero bytes, then `first` and `second` (little endian).
    static func make(_ builder: PacketBuilder, first: UInt32, second: UInt32, padding: Int = 0) -> [UInt8] {
        builder.payload(Array(repeating: 0, count: padding) + words(first, second)).bytes
    }

    static func words(_ first: UInt32, _ second: UInt32) -> [UInt8] {
        withUnsafeBytes(of: first.littleEndian) { Array($0) }
            + withUnsafeBytes(of: second.littleEndian) { Array($0) }
    }

    /// The two numbers at the end of `bytes`.
    static func numbers<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> (first: UInt32, second: UInt32)
    where Bytes.Index == Int {
        let end = bytes.endIndex
        func word(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
        }
        return (word(end - 8), word(end - 4))
    }

    /// Overwrites the second number of a packet made by `make`.
    static func setSecond(_ value: UInt32, in bytes: inout [UInt8]) {
        for index in 0..<4 {
            bytes[bytes.count - 4 + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }
}

/// Whether `filter` (an installed filter's tree) accepts `bytes`, decided the way the multiplexer
/// must: by the reference evaluator over a trie that holds that filter alone.
struct SingleFilterOracle {
    private var verdicts: [FilterID: ReferenceDelivery] = [:]

    mutating func accepts(_ tree: FilterTree, id: FilterID, isTap: Bool, _ bytes: [UInt8]) -> Bool {
        if verdicts[id] == nil {
            let trie = DecisionTrie(linkType: .ethernet)
            try! trie.insert(name: "f\(id.rawValue)", app: "a", isTap: isTap, tree: tree)
            verdicts[id] = ReferenceDelivery(trie)
        }
        let verdict = bytes.withUnsafeBytes { verdicts[id]!.verdict($0) }
        return verdict.owner != nil || !verdict.taps.isEmpty
    }
}

/// Every packet in `app`'s rings (one per worker, laid out back to back from page 0), drained.
func drainRings(of app: MuxApp, in mux: Multiplexer) throws -> [[DrainedPacket]] {
    var rings: [[DrainedPacket]] = []
    var page: UInt32 = 0
    for ring in 0..<mux.configuration.workers {
        var consumer = try RingConsumer(core: mux.memory, app: app.id, firstPage: page)
        var packets: [DrainedPacket] = []
        while let got = consumer.next() {
            packets.append(
                DrainedPacket(
                    app: app.name, ring: ring, tag: got.tag, bytes: Array(got.bytes),
                    wireLength: got.wireLength))
            consumer.release()
        }
        rings.append(packets)
        page += UInt32(consumer.layout.pages)
    }
    return rings
}
