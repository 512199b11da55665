import DPFEngine
import DPFMemory
import DPFWire

/// A demultiplexing worker: its memory-core worker slot and its state, behind a lock the worker
/// holds for one batch at a time (statistics readers take it between batches, so what they read
/// is a batch boundary, where the counters balance). No other lock is taken per batch, none per
/// packet.
final class MuxWorker: @unchecked Sendable {
    // @unchecked: `state` is touched only under `lock`. (A pointer, not `Mutex<WorkerState>`: the
    // batch's borrowed packets and the snapshot pass through the state's methods, which the
    // mutex's region checking cannot see through; the pointer also spares the hot loop
    // exclusivity checks. The lock is a pthread mutex: see `PthreadLock`.)
    let memoryWorker: Worker
    let lock = PthreadLock()
    let state: UnsafeMutablePointer<WorkerState>

    init(memoryWorker: Worker, maxApps: Int, batchSize: Int, linkType: LinkType) {
        self.memoryWorker = memoryWorker
        state = .allocate(capacity: 1)
        state.initialize(
            to: WorkerState(
                index: memoryWorker.index, maxApps: maxApps, batchSize: batchSize, linkType: linkType))
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Stores every ring's producer position in its header (a run's end).
    func publishPositions(memory: MemoryCore) {
        memory.withCriticalSection(memoryWorker) { access in
            withState { state in state.publishPending(through: access) }
        }
    }

    /// Runs `body` on the state under the worker's lock.
    func withState<Result>(_ body: (inout WorkerState) -> Result) -> Result {
        lock.withLock { body(&state.pointee) }
    }

    /// Demultiplexes the packets of `batch` at `share` (every packet when nil) under the published
    /// snapshot, inside one critical section.
    func process(
        _ batch: SourceBatch, share: UnsafeBufferPointer<Int32>?, snapshots: SnapshotCell, memory: MemoryCore
    ) {
        memory.withCriticalSection(memoryWorker) { access in
            guard let snapshot = snapshots.current() else { return }
            snapshot._withUnsafeGuaranteedRef { snapshot in
                withState { $0.process(batch, share: share, snapshot: snapshot, access: access) }
            }
        }
    }
}

/// One worker's private state: the verdict buffer, a ring writer per app (its cursor into the
/// app's ring for this worker) and the counters.
///
/// What the packet path writes by app slot or filter id lives in buffers allocated once (when a
/// snapshot names more filter ids, `filters` is reallocated in `adopt`, between batches), not in
/// arrays: an array written per packet costs a uniqueness check and a copy-on-write branch each
/// time, and `Array<RingWriter?>`'s modify accessor was not even inlined.
struct WorkerState: ~Copyable {
    let index: Int
    let linkType: LinkType
    let minimumLength: Int
    var generation: UInt64 = 0
    var verdicts: VerdictBatch
    /// The filter count `verdicts` has tap room for.
    var verdictFilters = 0
    /// The batch's well-formed packets, gathered for the engine, and where each came from.
    let gathered: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>
    let origins: UnsafeMutableBufferPointer<Int32>
    /// By app slot: this worker's writer into the app's ring, and the rings' incarnation.
    let writers: UnsafeMutableBufferPointer<RingWriter?>
    var incarnations: [UInt64]
    /// By app slot: the packet sequence of the app's last tap copy, and what became of it.
    let lastCopy: UnsafeMutableBufferPointer<UInt64>
    let lastCopyOutcome: UnsafeMutableBufferPointer<DeliveryOutcome>
    /// Apps delivered to in this batch, the first `touchedCount` (their producer positions are
    /// published once, after it).
    let touched: UnsafeMutableBufferPointer<Int32>
    var touchedCount = 0
    let touchedMark: UnsafeMutableBufferPointer<UInt64>
    /// Apps whose producer position moved since it was last published, the first `pendingCount`
    /// (a run's end publishes these, not every app's).
    let pending: UnsafeMutableBufferPointer<Int32>
    var pendingCount = 0
    let isPending: UnsafeMutableBufferPointer<Bool>
    var batchNumber: UInt64 = 0
    var sequence: UInt64 = 0

    // Counters (see `MuxStatistics`).
    var received: UInt64 = 0
    var owners = DeliveryCounters()
    var unmatched: UInt64 = 0
    var malformed: UInt64 = 0
    let apps: UnsafeMutableBufferPointer<DeliveryCounters>
    /// By filter id.
    var filters = UnsafeMutableBufferPointer<DeliveryCounters>.allocate(capacity: 0)

    init(index: Int, maxApps: Int, batchSize: Int, linkType: LinkType) {
        self.index = index
        self.linkType = linkType
        minimumLength = WorkerState.minimumLength(linkType)
        verdicts = VerdictBatch(packets: batchSize, filters: 0)
        gathered = .allocate(capacity: batchSize)
        origins = .allocate(capacity: batchSize)
        writers = .allocate(capacity: maxApps)
        writers.initialize(repeating: nil)
        incarnations = Array(repeating: 0, count: maxApps)
        lastCopy = .allocate(capacity: maxApps)
        lastCopy.initialize(repeating: .max)
        lastCopyOutcome = .allocate(capacity: maxApps)
        lastCopyOutcome.initialize(repeating: .delivered)
        touched = .allocate(capacity: maxApps)
        touched.initialize(repeating: 0)
        touchedMark = .allocate(capacity: maxApps)
        touchedMark.initialize(repeating: .max)
        pending = .allocate(capacity: maxApps)
        pending.initialize(repeating: 0)
        isPending = .allocate(capacity: maxApps)
        isPending.initialize(repeating: false)
        apps = .allocate(capacity: maxApps)
        apps.initialize(repeating: DeliveryCounters())
    }

    deinit {
        gathered.deallocate()
        origins.deallocate()
        // Trivial element types: nothing to deinitialize.
        writers.deallocate()
        lastCopy.deallocate()
        lastCopyOutcome.deallocate()
        touched.deallocate()
        touchedMark.deallocate()
        pending.deallocate()
        isPending.deallocate()
        apps.deallocate()
        filters.deallocate()
    }

    /// The bytes a packet of `linkType` needs before its network header.
    static func minimumLength(_ linkType: LinkType) -> Int {
        switch linkType {
        case .ethernet, .linuxCooked, .linuxCooked2, .null, .loop: linkType.layout.networkOffset(vlanDepth: 0)
        case .raw, .ipv4, .ipv6: 1
        }
    }

    /// True for a packet the filters cannot make sense of (see `MuxStatistics.malformed`).
    @inline(__always)
    func isMalformed(_ packet: UnsafeRawBufferPointer, wireLength: Int) -> Bool {
        if packet.count > wireLength || packet.count < minimumLength { return true }
        switch linkType {
        case .ethernet, .linuxCooked, .linuxCooked2, .null, .loop: return false
        case .raw:
            let version = packet[0] >> 4
            return version != 4 && version != 6
        case .ipv4: return packet[0] >> 4 != 4
        case .ipv6: return packet[0] >> 4 != 6
        }
    }

    /// Takes on a newly published snapshot: verdict room for its filters, counters for its ids,
    /// fresh writers for rings attached since.
    mutating func adopt(_ snapshot: Snapshot) {
        generation = snapshot.generation
        if verdictFilters != snapshot.engine.filters.count {
            verdictFilters = snapshot.engine.filters.count
            verdicts = snapshot.engine.makeVerdicts(packets: verdicts.capacity)
        }
        if filters.count < snapshot.filterIDBound {
            let larger = UnsafeMutableBufferPointer<DeliveryCounters>.allocate(
                capacity: snapshot.filterIDBound)
            _ = larger.initialize(fromContentsOf: filters)
            larger[filters.count...].initialize(repeating: DeliveryCounters())
            filters.deallocate()
            filters = larger
        }
        for (slot, entry) in snapshot.rings.enumerated() {
            guard let entry, entry.incarnation != incarnations[slot] else { continue }
            incarnations[slot] = entry.incarnation
            writers[slot] = RingWriter(entry.rings[index])
        }
    }

    mutating func process(
        _ batch: SourceBatch, share: UnsafeBufferPointer<Int32>?, snapshot: Snapshot, access: MemoryAccess
    ) {
        if snapshot.generation != generation { adopt(snapshot) }
        batchNumber &+= 1
        var count = 0
        if let share {
            for origin in share { gather(batch, Int(origin), into: &count) }
        } else {
            for origin in 0..<batch.count { gather(batch, origin, into: &count) }
        }
        var done = 0
        while done < count {
            let ran = snapshot.engine.run(
                UnsafeBufferPointer(rebasing: UnsafeBufferPointer(gathered)[done..<count]), into: verdicts)
            for index in 0..<ran {
                route(
                    index, packet: gathered[done + index], origin: Int(origins[done + index]), batch,
                    snapshot, access)
            }
            done += ran
        }
        for app in touched[0..<touchedCount] {
            let slot = Int(app)
            guard var writer = writers[slot] else { continue }
            writer.publishIfDue(through: access)
            writers[slot] = writer
            if writer.position != writer.publishedPosition, !isPending[slot] {
                isPending[slot] = true
                pending[pendingCount] = app
                pendingCount += 1
            }
        }
        touchedCount = 0
    }

    /// Stores the producer position of every ring whose position moved since it was last stored.
    mutating func publishPending(through access: MemoryAccess) {
        for app in pending[0..<pendingCount] {
            let slot = Int(app)
            isPending[slot] = false
            guard var writer = writers[slot], writer.position != writer.publishedPosition else { continue }
            writer.publish(through: access)
            writers[slot] = writer
        }
        pendingCount = 0
    }

    @inline(__always)
    mutating func gather(_ batch: SourceBatch, _ origin: Int, into count: inout Int) {
        received &+= 1
        let packet = batch.views[origin]
        if isMalformed(packet, wireLength: Int(batch.wireLengths[origin])) {
            malformed &+= 1
            return
        }
        gathered[count] = packet
        origins[count] = Int32(truncatingIfNeeded: origin)
        count += 1
    }

    /// Delivers one decided packet to its owner and to every other app with a matching tap (one copy
    /// per app however many of its taps match, none more to the owner's app), and counts what became
    /// of each.
    @inline(__always)
    mutating func route(
        _ index: Int, packet: UnsafeRawBufferPointer, origin: Int, _ batch: SourceBatch, _ snapshot: Snapshot,
        _ access: MemoryAccess
    ) {
        let wireLength = Int(batch.wireLengths[origin])
        let timestamp = batch.timestamps[origin]
        let owner = verdicts.owners[index]
        if owner >= 0 {
            let app = Int(snapshot.appOfFilter[Int(owner)])
            let id = snapshot.filterIDs[Int(owner)]
            let outcome = deliver(
                packet, wireLength: wireLength, timestamp: timestamp, tag: id, to: app, access)
            owners.count(outcome, bytes: packet.count)
            WorkerState.count(outcome, bytes: packet.count, in: apps, at: app)
            WorkerState.count(outcome, bytes: packet.count, in: filters, at: Int(id))
            // The owner's app has the packet: its own matching taps add no second copy.
            lastCopy[app] = sequence
            lastCopyOutcome[app] = outcome
        } else {
            unmatched &+= 1
        }
        // The taps, as `verdicts.taps(of:)` finds them (which is not inlined across modules).
        let tapStart = index == 0 ? 0 : Int(verdicts.tapEnds[index - 1])
        for tap in verdicts.taps[tapStart..<Int(verdicts.tapEnds[index])] {
            let app = Int(snapshot.appOfFilter[Int(tap)])
            let id = snapshot.filterIDs[Int(tap)]
            if lastCopy[app] != sequence {
                lastCopy[app] = sequence
                lastCopyOutcome[app] = deliver(
                    packet, wireLength: wireLength, timestamp: timestamp, tag: id, to: app, access)
                WorkerState.count(lastCopyOutcome[app], bytes: packet.count, in: apps, at: app)
            }
            WorkerState.count(lastCopyOutcome[app], bytes: packet.count, in: filters, at: Int(id))
        }
        sequence &+= 1
    }

    /// Counts `outcome` in `counters[index]`: a load, an update and a store, not a mutating call on
    /// the buffer's element (whose inout access crashes the 6.3.1 compiler under -sanitize=thread).
    @inline(__always)
    static func count(
        _ outcome: DeliveryOutcome, bytes: Int, in counters: UnsafeMutableBufferPointer<DeliveryCounters>,
        at index: Int
    ) {
        var updated = counters[index]
        updated.count(outcome, bytes: bytes)
        counters[index] = updated
    }

    @inline(__always)
    mutating func deliver(
        _ packet: UnsafeRawBufferPointer, wireLength: Int, timestamp: UInt64, tag: UInt32, to app: Int,
        _ access: MemoryAccess
    ) -> DeliveryOutcome {
        guard
            let outcome = writers[app]?.deliver(
                packet, wireLength: wireLength, timestamp: timestamp, tag: UInt64(tag), publishing: false,
                through: access)
        else { return .cancelled }
        if outcome == .delivered, touchedMark[app] != batchNumber {
            touchedMark[app] = batchNumber
            touched[touchedCount] = Int32(app)
            touchedCount += 1
        }
        return outcome
    }
}
