import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A consumer thread that empties rings as an app would: it reads each filled slot in place,
/// counts it, shows it to an optional observer, and releases it. What `dpf replay` runs so the
/// rings keep draining while packets flow; tests use it for an app that keeps up.
public final class RingDrainer: @unchecked Sendable {
    // @unchecked: the consumers and counts are touched only by the drainer's thread until `stop()`
    // has joined it; `stopping` is an atomic.
    public struct Count: Hashable, Sendable {
        public var packets: UInt64 = 0
        /// Bytes on the wire.
        public var bytes: UInt64 = 0
    }

    private var consumers: [RingConsumer]
    private var counts: [Count]
    private let observe: ((Int, ReceivedPacket) -> Void)?
    private let stopping = Atomic<Bool>(false)
    private var thread: WorkerThread?

    /// Drains `consumers` on a new thread; `observe` sees each packet (with its consumer's index)
    /// before its slot is released.
    public init(_ consumers: [RingConsumer], observe: ((Int, ReceivedPacket) -> Void)? = nil) {
        self.consumers = consumers
        counts = Array(repeating: Count(), count: consumers.count)
        self.observe = observe
    }

    /// Starts the thread; false when the system refuses one.
    public func start() -> Bool {
        thread = WorkerThread { [self] in loop() }
        return thread != nil
    }

    /// Stops after one last sweep that empties every ring, and returns what each consumer read.
    public func stop() -> [Count] {
        stopping.store(true, ordering: .sequentiallyConsistent)
        thread?.join()
        thread = nil
        _ = sweep()
        return counts
    }

    private func loop() {
        var idle = 0
        while !stopping.load(ordering: .acquiring) {
            if sweep() {
                idle = 0
            } else {
                idle += 1
                if idle < 64 { sched_yield() } else { usleep(50) }
            }
        }
    }

    /// Empties every ring once; true when it found anything.
    private func sweep() -> Bool {
        var found = false
        for index in consumers.indices {
            while let packet = consumers[index].next() {
                counts[index].packets &+= 1
                counts[index].bytes &+= UInt64(packet.wireLength)
                observe?(index, packet)
                consumers[index].release()
                found = true
            }
        }
        return found
    }
}
