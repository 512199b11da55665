import DPFEngine
import Synchronization

/// One compiled generation of the multiplexer's decisions: the engine over every installed
/// filter, each filter's app and stable id by the engine's filter number, and each app's rings.
/// Immutable once published; every packet is decided wholly by one snapshot.
final class Snapshot: @unchecked Sendable {
    // @unchecked: never changed after publication; the engine's `run` keeps no state between
    // calls (the interpreter, the reference evaluator and a private trie copy are read-only), so
    // workers share it.
    struct AppRings {
        /// Changes whenever the app attaches new rings, so a worker knows to start a new writer.
        let incarnation: UInt64
        /// One ring per worker.
        let rings: [ReceiveRing]
    }

    let generation: UInt64
    let engine: any DemuxEngine
    /// By filter number: the app's slot (its `AppID.index`).
    let appOfFilter: [Int32]
    /// By filter number: the stable `FilterID` raw value (statistics and slot tags use it).
    let filterIDs: [UInt32]
    /// The largest filter id any snapshot so far has named, plus one.
    let filterIDBound: Int
    /// By app slot.
    let rings: [AppRings?]

    init(
        generation: UInt64, engine: any DemuxEngine, appOfFilter: [Int32], filterIDs: [UInt32],
        filterIDBound: Int, rings: [AppRings?]
    ) {
        self.generation = generation
        self.engine = engine
        self.appOfFilter = appOfFilter
        self.filterIDs = filterIDs
        self.filterIDBound = filterIDBound
        self.rings = rings
    }
}

/// Where the current snapshot is published: an atomic pointer holding one retained reference.
/// Workers read it inside a memory-core critical section; the control plane swaps it, waits for
/// every critical section that may have read the old one (`MemoryCore.synchronizeWorkers`), and
/// only then lets the old one go.
final class SnapshotCell: @unchecked Sendable {
    // @unchecked: the one stored property is an atomic.
    private let pointer = Atomic<UnsafeMutableRawPointer?>(nil)

    deinit {
        if let old = pointer.load(ordering: .acquiring) { Unmanaged<Snapshot>.fromOpaque(old).release() }
    }

    /// The published snapshot, not retained: valid until the critical section ends.
    @inline(__always)
    func current() -> Unmanaged<Snapshot>? {
        // Sequentially consistent, like the critical section's entry store before it and the
        // control plane's exchange and epoch advance: a worker that read the old pointer is then
        // surely seen inside its section by `synchronizeWorkers`.
        pointer.load(ordering: .sequentiallyConsistent).map { Unmanaged<Snapshot>.fromOpaque($0) }
    }

    /// Publishes `snapshot`; returns the previous one, still retained, for the caller to release
    /// once no worker can be using it.
    func exchange(_ snapshot: Snapshot) -> Unmanaged<Snapshot>? {
        let fresh = Unmanaged.passRetained(snapshot).toOpaque()
        return pointer.exchange(fresh, ordering: .sequentiallyConsistent).map {
            Unmanaged<Snapshot>.fromOpaque($0)
        }
    }
}
