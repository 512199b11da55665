import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A packet worker: one thread at a time uses it to translate and write into app memory.
public struct Worker: Hashable, Sendable {
    public let index: Int
}

/// Epoch-based reclamation for page frames.
///
/// A worker touches app memory only inside a critical section: on entry it publishes the global
/// epoch in its own slot, on exit it publishes 0 (quiescent). The control plane, after moving a
/// frame's generation on (so no write that starts later can pass the check for the old owner),
/// calls `synchronize()`: it advances the global epoch and waits until every worker is quiescent
/// or has entered in the new epoch. Any write that had already passed the check is then finished,
/// and the frame can be zeroed and handed on. Workers never wait and never take a lock.
final class EpochDomain: @unchecked Sendable {
    // @unchecked: slots and the epoch are atomics, registration is under `registered`'s lock.
    let capacity: Int
    private let global = Atomic<UInt64>(1)
    let slots: UnsafeMutablePointer<Atomic<UInt64>>
    private let registered = Mutex<Int>(0)

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        for index in 0..<capacity { (slots + index).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    var epoch: UInt64 { global.load(ordering: .sequentiallyConsistent) }

    var workerCount: Int { registered.withLock { $0 } }

    func register() throws(MemoryError) -> Worker {
        try registered.withLock { (count: inout Int) throws(MemoryError) -> Worker in
            guard count < capacity else { throw .tooManyWorkers }
            count += 1
            return Worker(index: count - 1)
        }
    }

    @inline(__always)
    func enter(_ worker: Worker) {
        // Sequentially consistent: the store must be ordered before the generation loads that
        // follow it (a store-load order, which acquire/release alone does not give).
        slots[worker.index].store(
            global.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
    }

    @inline(__always)
    func exit(_ worker: Worker) {
        slots[worker.index].store(0, ordering: .releasing)
    }

    /// Returns once every critical section that began before the call has ended.
    func synchronize() {
        let target = global.add(1, ordering: .sequentiallyConsistent).newValue
        for index in 0..<capacity {
            var spins = 0
            while true {
                let seen = slots[index].load(ordering: .sequentiallyConsistent)
                if seen == 0 || seen >= target { break }
                spins += 1
                if spins > 64 { sched_yield() }
            }
        }
    }
}
