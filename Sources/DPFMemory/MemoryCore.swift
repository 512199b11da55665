import Synchronization

/// A frame an allocation gave, with the owner's root capability over it.
public struct FrameGrant: Hashable, Sendable {
    public let frame: UInt32
    public let capability: CapabilityHandle
}

/// The exokernel memory core: page frames and who owns them, capabilities, secure bindings
/// (per-app page tables and software TLBs), and visible revocation with the abort protocol.
///
/// The control plane (every method here) runs under one lock. Packet workers touch app memory
/// through `withCriticalSection` without locks, translating through the apps' TLBs; frames change
/// hands only after the epoch protocol has seen every worker leave the critical sections that
/// might still write them (see `EpochDomain`).
public final class MemoryCore: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var frames: Int
        public var maxApps: Int
        /// The size of each app's virtual space, in pages.
        public var pagesPerApp: Int
        public var maxWorkers: Int

        public init(frames: Int, maxApps: Int = 16, pagesPerApp: Int = 256, maxWorkers: Int = 8) {
            self.frames = frames
            self.maxApps = maxApps
            self.pagesPerApp = pagesPerApp
            self.maxWorkers = maxWorkers
        }

        /// Limits that keep the core's tables (page tables: apps × pages words; TLBs: apps × 64
        /// entries; worker slots) modest allocations.
        public static let appLimit = 16_384
        public static let pageLimit = 1 << 20
        public static let pageTableWordLimit = 1 << 26
        public static let workerLimit = 1024

        func validate() throws(MemoryError) {
            guard (1...Configuration.appLimit).contains(maxApps) else {
                throw .invalidConfiguration(
                    "maxApps must be in 1...\(Configuration.appLimit), not \(maxApps)")
            }
            guard (1...Configuration.pageLimit).contains(pagesPerApp),
                maxApps * pagesPerApp <= Configuration.pageTableWordLimit
            else {
                throw .invalidConfiguration(
                    "pagesPerApp must be in 1...\(Configuration.pageLimit), and maxApps × pagesPerApp at most "
                        + "\(Configuration.pageTableWordLimit), not \(pagesPerApp)")
            }
            guard (1...Configuration.workerLimit).contains(maxWorkers) else {
                throw .invalidConfiguration(
                    "maxWorkers must be in 1...\(Configuration.workerLimit), not \(maxWorkers)")
            }
        }
    }

    public let configuration: Configuration
    public let arena: FrameArena
    let machine: Machine
    let state: Mutex<State>

    public init(_ configuration: Configuration) throws(MemoryError) {
        try configuration.validate()
        self.configuration = configuration
        arena = try FrameArena(frameCount: configuration.frames)
        machine = Machine(
            arena: arena,
            pageTables: PageTables(apps: configuration.maxApps, pagesPerApp: configuration.pagesPerApp),
            tlbs: SoftwareTLBs(apps: configuration.maxApps, workers: configuration.maxWorkers),
            epochs: EpochDomain(capacity: configuration.maxWorkers))
        state = Mutex(State(frameCount: configuration.frames, maxApps: configuration.maxApps))
    }

    public convenience init(frames: Int) throws(MemoryError) {
        try self.init(Configuration(frames: frames))
    }

    // MARK: Principals

    /// Registers an app with a guaranteed minimum of frames that are never repossessed. The sum of
    /// every app's minimum may not exceed the arena.
    public func registerApp(guaranteedFrames: Int = 0) throws(MemoryError) -> AppID {
        try state.withLock { (state: inout State) throws(MemoryError) -> AppID in
            guard let index = state.apps.firstIndex(where: { $0 == nil }) else { throw .tooManyApps }
            let guaranteed =
                state.apps.reduce(0) { $0 + ($1?.guaranteedFrames ?? 0) } + max(guaranteedFrames, 0)
            guard guaranteed <= state.frames.count else {
                throw .guaranteeExceedsArena(requested: guaranteed, available: state.frames.count)
            }
            state.apps[index] = AppRecord(guaranteedFrames: max(guaranteedFrames, 0))
            return AppID(UInt32(index))
        }
    }

    /// A packet worker slot; each worker is used by one thread at a time.
    public func registerWorker() throws(MemoryError) -> Worker { try machine.epochs.register() }

    // MARK: Frames

    /// Allocates `frame`, or the lowest-numbered free frame, to `owner`, with a root capability
    /// (read, write, grant, revoke) held by the owner. The frame is all zeros.
    public func allocate(for owner: Principal, frame: UInt32? = nil) throws(MemoryError) -> FrameGrant {
        try state.withLock { (state: inout State) throws(MemoryError) -> FrameGrant in
            if let app = owner.app { _ = try state.record(app) }
            let chosen: UInt32
            if let frame {
                guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
                guard state.frames.isFree(frame) else { throw .frameInUse(frame) }
                chosen = frame
            } else {
                guard let free = state.frames.lowestFree() else { throw .noFreeFrames }
                chosen = free
            }
            state.frames.take(chosen, for: owner)
            let root = state.capabilities.insert(
                resource: .frames(chosen..<chosen + 1), rights: .frameOwner, holder: owner, parent: nil)
            state.frames[chosen].roots.append(root)
            return FrameGrant(frame: chosen, capability: state.capabilities.handle(root))
        }
    }

    /// Frees a frame its owner no longer wants: every binding of it is broken, every capability
    /// over it revoked, queued writes cancelled; it is zeroed before it goes back on the free list.
    public func free(_ frame: UInt32, by owner: Principal) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
            guard state.frames[frame].owner == owner else { throw .notOwner(frame: frame, principal: owner) }
            state.reclaim([frame], machine: machine)
        }
    }

    /// The frame's owner, nil when free.
    public func owner(of frame: UInt32) throws(MemoryError) -> Principal? {
        try state.withLock { (state: inout State) throws(MemoryError) -> Principal? in
            guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
            return state.frames[frame].owner
        }
    }

    /// Frames owned by `owner`, ascending.
    public func frames(ownedBy owner: Principal) -> [UInt32] {
        state.withLock { $0.frames.frames(ownedBy: owner) }
    }

    /// How many frames `owner` owns, in O(1).
    public func frameCount(ownedBy owner: Principal) -> Int {
        state.withLock { $0.frames.frameCount(ownedBy: owner) }
    }

    public var freeFrameCount: Int { state.withLock { $0.frames.freeCount } }

    // MARK: Capabilities

    /// Mints a root capability (kernel only): a network binding, a filter guard, or a range of
    /// frames all owned by `holder` (it dies when any frame in it is freed or repossessed).
    public func mint(
        _ resource: Resource, rights: Rights, for holder: Principal, by minter: Principal
    ) throws(MemoryError) -> CapabilityHandle {
        try state.withLock { (state: inout State) throws(MemoryError) -> CapabilityHandle in
            guard minter == .kernel else { throw .kernelOnly }
            if let app = holder.app { _ = try state.record(app) }
            if case .frames(let range) = resource {
                guard !range.isEmpty else { throw .wrongResource }
                for frame in range {
                    guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
                    guard state.frames[frame].owner == holder else {
                        throw .notOwner(frame: frame, principal: holder)
                    }
                }
            }
            let root = state.capabilities.insert(
                resource: resource, rights: rights, holder: holder, parent: nil)
            if case .frames(let range) = resource {
                for frame in range { state.frames[frame].roots.append(root) }
            }
            return state.capabilities.handle(root)
        }
    }

    /// Checks, in O(1), that `handle` is live, held by `holder` and carries `rights`.
    public func check(_ handle: CapabilityHandle, rights: Rights, by holder: Principal) -> Bool {
        state.withLock { (try? $0.capabilities.check(handle, holder: holder, rights: rights)) != nil }
    }

    /// The capability `handle` names, if live.
    public func capability(_ handle: CapabilityHandle) throws(MemoryError) -> Capability {
        try state.withLock { (state: inout State) throws(MemoryError) -> Capability in
            guard let index = state.capabilities.resolve(handle) else { throw .invalidCapability }
            return state.capabilities.capability(index)
        }
    }

    /// Every live capability held by `holder`, in slot order.
    public func capabilities(heldBy holder: Principal) -> [Capability] {
        state.withLock { state in
            state.capabilities.liveIndices.filter { state.capabilities[$0].holder == holder }
                .map { state.capabilities.capability($0) }
        }
    }

    /// An attenuated copy for the same holder: `rights` must be a subset of the capability's.
    /// Needs `grant`.
    public func derive(
        _ handle: CapabilityHandle, rights: Rights, by holder: Principal
    ) throws(MemoryError) -> CapabilityHandle {
        try state.withLock { (state: inout State) throws(MemoryError) -> CapabilityHandle in
            try state.derive(handle, rights: rights, for: holder, by: holder)
        }
    }

    /// A capability for another app, derived from `handle` with `rights` (a subset of its own).
    /// Needs `grant`. A frame capability delegated to an app that does not own the frame carries
    /// `read` at most: this is how a frame is shared read-only.
    public func delegate(
        _ handle: CapabilityHandle, to app: AppID, rights: Rights, by holder: Principal
    ) throws(MemoryError) -> CapabilityHandle {
        try state.withLock { (state: inout State) throws(MemoryError) -> CapabilityHandle in
            try state.derive(handle, rights: rights, for: .app(app), by: holder)
        }
    }

    /// Shares the frames `handle` names read-only with `app`: a delegation with `read` alone.
    public func share(
        _ handle: CapabilityHandle, with app: AppID, by holder: Principal
    ) throws(MemoryError) -> CapabilityHandle {
        try delegate(handle, to: app, rights: .read, by: holder)
    }

    /// Revokes `target` and everything derived from it; every page bound with any of them is
    /// unbound. `authority` (held by `principal`, with `revoke`) must be `target` or an ancestor
    /// of it; without one, the nearest such capability `principal` holds on `target`'s chain is
    /// used. The kernel may revoke anything.
    public func revoke(
        _ target: CapabilityHandle, authority: CapabilityHandle? = nil, by principal: Principal
    ) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            guard let victim = state.capabilities.resolve(target) else { throw .invalidCapability }
            if principal != .kernel {
                if let authority {
                    let granting = try state.capabilities.check(authority, holder: principal, rights: .revoke)
                    guard state.capabilities.isAncestor(granting, of: victim) else { throw .wrongResource }
                } else if state.capabilities.revokingAncestor(of: victim, heldBy: principal) == nil {
                    let slot = state.capabilities[victim]
                    if slot.holder != principal { throw .notHolder(principal) }
                    throw .insufficientRights(needed: .revoke, held: slot.rights)
                }
            }
            state.revoke(victim, machine: machine)
        }
    }

    // MARK: Secure bindings

    /// Binds `page` of `app` to `frame` with `rights` (read and/or write; other rights are ignored,
    /// and a binding with neither is refused), on the authority of `capability`: held by the app,
    /// naming the frame, carrying the rights. Checked once, here.
    public func bind(
        _ app: AppID, page: UInt32, to frame: UInt32, rights: Rights, using capability: CapabilityHandle
    ) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            _ = try state.record(app)
            guard Int(page) < machine.pageTables.pagesPerApp else { throw .pageOutOfRange(page) }
            guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
            let bindable = rights.intersection([.read, .write])
            guard !bindable.isEmpty else { throw .noAccessRights }
            let index = try state.capabilities.check(capability, holder: .app(app), rights: bindable)
            guard state.capabilities[index].resource.covers(frame: frame) else { throw .wrongResource }
            let key = PageKey(app: app, page: page)
            guard state.bindingCapability[key] == nil else { throw .pageAlreadyBound(page) }
            state.bindingCapability[key] = index
            state.capabilities[index].bindings.append(key)
            state.frames[frame].bindings.append(key)
            machine.pageTables.store(
                PageTables.pack(frame: frame, rights: bindable), app: app.index, page: page)
        }
    }

    /// Unbinds `page` of `app`: the page-table entry is cleared and every TLB entry for it goes.
    public func unbind(_ app: AppID, page: UInt32) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            _ = try state.record(app)
            guard Int(page) < machine.pageTables.pagesPerApp else { throw .pageOutOfRange(page) }
            let key = PageKey(app: app, page: page)
            guard state.bindingCapability[key] != nil else { throw .pageNotBound(page) }
            state.breakBinding(key, machine: machine)
        }
    }

    /// The app's page table, read-only.
    public func pageTable(of app: AppID) -> PageTableView {
        guard Int(app.index) < configuration.maxApps else { return PageTableView(app: app, mappings: []) }
        return machine.pageTables.view(of: app)
    }

    /// The part of the app's page table for `pages` (clamped to the app's space), read-only.
    public func pageTable(of app: AppID, pages: Range<UInt32>) -> PageTableView {
        guard Int(app.index) < configuration.maxApps else { return PageTableView(app: app, mappings: []) }
        return machine.pageTables.view(of: app, pages: pages)
    }

    /// The app's TLB entries that would hit now, as (page, frame), ascending by page.
    public func tlbEntries(of app: AppID) -> [(page: UInt32, frame: UInt32)] {
        guard Int(app.index) < configuration.maxApps else { return [] }
        return machine.tlbs.validEntries(of: app, arena: arena)
    }

    public func tlbStatistics(of app: AppID) -> TLBStatistics {
        guard Int(app.index) < configuration.maxApps else { return TLBStatistics(hits: 0, misses: 0) }
        return machine.tlbs.statistics(of: app)
    }

    // MARK: Workers

    /// Runs `body` inside one of `worker`'s critical sections: every access to app memory happens
    /// here, and no frame changes owner while a write that passed its generation check is in
    /// flight. Do not call the control plane from inside.
    @inline(__always)
    public func withCriticalSection<Result, Failure: Error>(
        _ worker: Worker, _ body: (MemoryAccess) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        machine.epochs.enter(worker)
        defer { machine.epochs.exit(worker) }
        return try body(
            MemoryAccess(
                arena: machine.arena.view, pageTables: machine.pageTables.entryView, tlbs: machine.tlbs.view,
                apps: machine.tlbs.apps, worker: worker))
    }

    /// Returns once every critical section that began before the call has ended: whatever a
    /// worker found through shared state the caller has since replaced (a multiplexer's compiled
    /// snapshot) is out of every worker's hands. Never call it from inside a critical section.
    public func synchronizeWorkers() { machine.epochs.synchronize() }

    // MARK: Queued writes

    /// Queues a write into `page` of `app` (bound writable now) for a later `deliverQueuedWrites`;
    /// if the frame changes hands first the write is cancelled.
    public func queueWrite(_ bytes: [UInt8], to app: AppID, page: UInt32, offset: Int) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            _ = try state.record(app)
            guard Int(page) < machine.pageTables.pagesPerApp else { throw .pageOutOfRange(page) }
            guard offset >= 0, bytes.count <= FrameArena.frameSize - offset else {
                throw .outOfFrame(offset: offset, count: bytes.count)
            }
            let entry = machine.pageTables.load(app: app.index, page: page)
            guard entry & PageTables.valid != 0 else { throw .pageNotBound(page) }
            let rights = PageTables.rights(entry)
            guard rights.contains(.write) else { throw .insufficientRights(needed: .write, held: rights) }
            let frame = PageTables.frame(entry)
            state.frames[frame].queued.append(
                QueuedWrite(
                    app: app, page: page, generation: arena.generation(of: frame), offset: offset,
                    bytes: bytes))
        }
    }

    /// Delivers every queued write through `worker`; a write whose frame changed generation since
    /// it was queued is dropped. Returns (delivered, dropped).
    public func deliverQueuedWrites(using worker: Worker) -> (delivered: Int, dropped: Int) {
        let writes = state.withLock { state in
            var writes: [QueuedWrite] = []
            for index in 0..<state.frames.count where !state.frames[UInt32(index)].queued.isEmpty {
                writes += state.frames[UInt32(index)].queued
                state.frames[UInt32(index)].queued = []
            }
            return writes
        }
        return withCriticalSection(worker) { access in
            var delivered = 0
            for write in writes
            where access.write(
                write.bytes, to: write.app, page: write.page, offset: write.offset,
                generation: write.generation)
            {
                delivered += 1
            }
            return (delivered, writes.count - delivered)
        }
    }

    /// Writes cancelled because their frame was freed or repossessed, per app.
    public func cancelledWrites(of app: AppID) -> Int {
        state.withLock { $0.apps[safe: app.index]??.cancelledWrites ?? 0 }
    }
}

/// The parts of the core workers reach without the lock.
struct Machine: Sendable {
    let arena: FrameArena
    let pageTables: PageTables
    let tlbs: SoftwareTLBs
    let epochs: EpochDomain
}

struct AppRecord {
    var guaranteedFrames: Int
    var pending: RevocationRequest?
    var notifications: [MemoryNotification] = []
    var repossessed: [Repossession] = []
    var cancelledWrites = 0
}

/// The control plane's state, under the core's lock.
struct State {
    var frames: FrameTable
    var capabilities = CapabilityTable()
    var apps: [AppRecord?]
    /// The capability each binding was made with.
    var bindingCapability: [PageKey: UInt32] = [:]
    /// Scratch space for `revoke`, kept to spare an allocation per revocation.
    var scratchBindings: [PageKey] = []

    init(frameCount: Int, maxApps: Int) {
        frames = FrameTable(frameCount: frameCount)
        apps = Array(repeating: nil, count: maxApps)
    }

    func record(_ app: AppID) throws(MemoryError) -> AppRecord {
        guard let record = apps[safe: app.index] ?? nil else { throw .unknownApp(app) }
        return record
    }

    mutating func derive(
        _ handle: CapabilityHandle, rights: Rights, for holder: Principal, by presenter: Principal
    ) throws(MemoryError) -> CapabilityHandle {
        if let app = holder.app { _ = try record(app) }
        let parent = try capabilities.check(handle, holder: presenter, rights: .grant)
        let source = capabilities[parent]
        guard source.rights.isSuperset(of: rights) else {
            throw .insufficientRights(needed: rights, held: source.rights)
        }
        if case .frames(let range) = source.resource, holder != presenter {
            let owns = range.allSatisfy { frames[$0].owner == holder }
            guard owns || Rights.read.isSuperset(of: rights) else { throw .writeSharingForbidden }
        }
        let child = capabilities.insert(
            resource: source.resource, rights: rights, holder: holder, parent: parent)
        return capabilities.handle(child)
    }

    /// Unbinds one page: clears its page-table entry, moves the frame's generation on (so any TLB
    /// entry filled under the old binding, even by a racing refill, stops hitting) and clears the
    /// app's TLB entry.
    mutating func breakBinding(_ key: PageKey, machine: Machine) {
        guard let capability = bindingCapability.removeValue(forKey: key) else { return }
        let entry = machine.pageTables.load(app: key.app.index, page: key.page)
        machine.pageTables.store(0, app: key.app.index, page: key.page)
        if capabilities[capability].live {
            capabilities[capability].bindings.removeAll { $0 == key }
        }
        if entry & PageTables.valid != 0 {
            let frame = PageTables.frame(entry)
            frames[frame].bindings.removeAll { $0 == key }
            machine.arena.advanceGeneration(of: frame)
        }
        machine.tlbs.flush(app: key.app, page: key.page)
    }

    mutating func revoke(_ index: UInt32, machine: Machine) {
        // Roots of frames are recorded per frame; forget the dead ones.
        let resource = capabilities[index].resource
        var broken = scratchBindings
        scratchBindings = []  // so `broken` is the buffer's only owner
        broken.removeAll(keepingCapacity: true)
        capabilities.revokeSubtree(index, broken: &broken)
        for key in broken { breakBinding(key, machine: machine) }
        scratchBindings = broken
        if case .frames(let range) = resource {
            for frame in range { frames[frame].roots.removeAll { !capabilities[$0].live } }
        }
    }

    /// Takes frames back: bindings broken, capabilities revoked, queued writes cancelled,
    /// generations moved on, TLBs shot down; then, once no worker can still be writing them
    /// (`synchronize`), zeroed and freed. Returns the cancelled writes per app.
    @discardableResult
    mutating func reclaim(_ victims: [UInt32], machine: Machine) -> [AppID: Int] {
        var cancelled: [AppID: Int] = [:]
        for frame in victims {
            // Taken out first, so that breaking and revoking do not copy the arrays they edit.
            let bindings = frames[frame].bindings
            frames[frame].bindings = []
            for key in bindings { breakBinding(key, machine: machine) }
            let roots = frames[frame].roots
            frames[frame].roots = []
            for root in roots where capabilities[root].live { revoke(root, machine: machine) }
            for write in frames[frame].queued { cancelled[write.app, default: 0] += 1 }
            frames[frame].queued = []
            machine.arena.advanceGeneration(of: frame)
        }
        for (app, count) in cancelled { apps[Int(app.index)]?.cancelledWrites += count }
        var victimBits = [Bool](repeating: false, count: frames.count)
        for frame in victims { victimBits[Int(frame)] = true }
        machine.tlbs.flush { victimBits[Int($0)] }
        machine.epochs.synchronize()
        machine.arena.zero(victims)
        for frame in victims { frames.release(frame) }
        return cancelled
    }
}
