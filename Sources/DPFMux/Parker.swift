import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a pipeline thread waits for a condition another thread makes true: it spins briefly
/// (yielding), then sleeps on a condition variable; a notifier wakes sleepers only when there are
/// any, so a busy pipeline makes no system calls. The condition is read through atomics the
/// caller owns; `notify()` must follow the store that makes it true.
final class Parker: @unchecked Sendable {
    // @unchecked: the mutex and condition variable are used only through pthreads; `sleepers` is
    // an atomic.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let sleepers = Atomic<Int>(0)

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// How long a waiter spins (yielding) before it sleeps: longer than a batch usually takes,
    /// since waking a sleeper costs tens of microseconds on a virtual machine.
    static let spinNanoseconds: UInt64 = 200_000

    /// Returns once `ready()` is true.
    func wait(until ready: () -> Bool) {
        for spin in 0..<16 {
            if ready() { return }
            if spin >= 8 { sched_yield() }
        }
        let deadline = Parker.now() &+ Parker.spinNanoseconds
        repeat {
            for _ in 0..<16 {
                if ready() { return }
                sched_yield()
            }
        } while Parker.now() < deadline
        pthread_mutex_lock(mutex)
        // Sequentially consistent: either the notifier's store is seen by `ready()` below, or
        // this increment is seen by the notifier, which then locks the mutex and wakes us.
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while !ready() { pthread_cond_wait(condition, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Wakes every sleeper (after the caller made their condition true).
    func notify() {
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// A pthread mutex. The multiplexer's worker locks use it rather than `Synchronization.Mutex`,
/// whose contended path on Linux (a raw futex) ThreadSanitizer cannot see, so it would report
/// false races between a worker and a statistics reader.
final class PthreadLock: @unchecked Sendable {
    // @unchecked: the mutex is used only through pthreads.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A thread running a closure once, joined by `join()` (or when it is released).
final class WorkerThread: @unchecked Sendable {
    // @unchecked: the thread handle is written once before `join`, by the creating thread.
    private var thread: pthread_t?

    /// Starts a thread running `body`; nil when the system refuses a thread (the errno is in
    /// `failure`).
    init?(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { context in
                let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        thread = handle
    }

    deinit { join() }

    func join() {
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
