import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFMemory
import DPFTrie
import DPFWire
import Synchronization

/// The exokernel network multiplexer: apps register and get a root capability, set up receive
/// rings in frames they own, and install filter trees by presenting capabilities; every filter is
/// merged into one decision trie, compiled into a snapshot published atomically, and run by the
/// workers over packets from a source, each packet written into its owner's ring (and a copy into
/// every matching tap's) through the app's software TLB.
///
/// It protects without managing: it checks authority when something is bound (a ring, a filter),
/// never per packet; it never trusts a word an app can write; it decides nothing about an app's
/// memory beyond refusing to write where it no longer may.
///
/// The control plane (registration, rings, filters, statistics) is thread-safe and runs under one
/// lock, off the packet path: each change rebuilds the snapshot, publishes it, waits until no
/// worker can still hold the old one, and lets it go. Workers take no lock per packet.
public final class Multiplexer: Sendable {
    public let configuration: MuxConfiguration
    /// The memory core the apps' frames, capabilities and bindings live in.
    public let memory: MemoryCore
    let snapshots = SnapshotCell()
    let control: Mutex<ControlState>
    let workers: [MuxWorker]
    let running = Atomic<Bool>(false)

    public init(_ configuration: MuxConfiguration = MuxConfiguration()) throws(MuxError) {
        try configuration.validate()
        self.configuration = configuration
        do {
            memory = try MemoryCore(
                MemoryCore.Configuration(
                    frames: configuration.frames, maxApps: configuration.maxApps,
                    pagesPerApp: configuration.pagesPerApp, maxWorkers: configuration.workers))
            var workers: [MuxWorker] = []
            for _ in 0..<configuration.workers {
                workers.append(
                    MuxWorker(
                        memoryWorker: try memory.registerWorker(), maxApps: configuration.maxApps,
                        batchSize: configuration.batchSize, linkType: configuration.linkType))
            }
            self.workers = workers
        } catch {
            throw .memory(error)
        }
        control = Mutex(ControlState(linkType: configuration.linkType, maxApps: configuration.maxApps))
        try control.withLock { (state: inout ControlState) throws(MuxError) in try publish(&state) }
    }

    // MARK: Apps

    /// Registers an app under a unique name, with a guaranteed minimum of frames the core never
    /// repossesses; returns its id and its root capability (the network binding).
    public func registerApp(named name: String, guaranteedFrames: Int = 0) throws(MuxError) -> MuxApp {
        try control.withLock { (state: inout ControlState) throws(MuxError) -> MuxApp in
            guard state.appNames[name] == nil else { throw .duplicateAppName(name) }
            let id: AppID
            let binding: CapabilityHandle
            do throws(MemoryError) {
                id = try memory.registerApp(guaranteedFrames: guaranteedFrames)
                binding = try memory.mint(
                    .networkBinding(id), rights: [.bindNetwork, .tap, .grant, .revoke], for: .app(id),
                    by: .kernel)
            } catch {
                throw .memory(error)
            }
            state.appNames[name] = id
            state.apps[Int(id.index)] = ControlState.App(id: id, name: name)
            return MuxApp(id: id, name: name, binding: binding)
        }
    }

    /// Checks that `capability` is `app`'s network binding, held by the app, with `rights`.
    func authorize(
        _ capability: CapabilityHandle, binding app: AppID, rights: Rights, for action: String
    ) throws(MuxError) {
        try authorize(capability, binding: app, rights: rights, orAnyOf: [], for: action)
    }

    /// The same, and the capability must also carry at least one of `anyOf` (when not empty).
    func authorize(
        _ capability: CapabilityHandle, binding app: AppID, rights: Rights, orAnyOf anyOf: Rights,
        for action: String
    ) throws(MuxError) {
        let found: Capability
        do { found = try memory.capability(capability) } catch {
            throw .unauthorized(
                "\(action): \(capability) names no live capability (forged, altered or revoked)")
        }
        guard found.holder == .app(app) else {
            throw .unauthorized("\(action): \(capability) is not held by \(app)")
        }
        guard found.resource == .networkBinding(app) else {
            throw .unauthorized(
                "\(action): \(capability) names \(found.resource), not \(app)'s network binding")
        }
        guard found.rights.isSuperset(of: rights) else {
            throw .unauthorized("\(action): \(capability) carries \(found.rights), not \(rights)")
        }
        guard anyOf.isEmpty || !found.rights.isDisjoint(with: anyOf) else {
            throw .unauthorized("\(action): \(capability) carries none of \(anyOf)")
        }
    }

    // MARK: Rings

    /// Sets up the app's receive rings in its own memory, one per worker, each of `slots` slots of
    /// `slotSize` bytes at consecutive virtual pages from `firstPage` (frames allocated to the app
    /// and bound with its own capabilities), and attaches them.
    @discardableResult
    public func createRings(
        for app: AppID, presenting binding: CapabilityHandle, firstPage: UInt32 = 0, slots: Int,
        slotSize: Int = RingLayout.defaultSlotSize
    ) throws(MuxError) -> [ReceiveRing] {
        try authorize(binding, binding: app, rights: [], for: "creating rings")
        let layout: RingLayout
        do { layout = try RingLayout(slotCount: slots, slotSize: slotSize) } catch { throw .ring(error) }
        var rings: [ReceiveRing] = []
        var page = firstPage
        do {
            for _ in 0..<configuration.workers {
                let ring = try ReceiveRing.create(
                    in: memory, for: app, firstPage: page, pages: layout.pages, slotSize: slotSize)
                rings.append(ring)
                page += UInt32(layout.pages)
            }
        } catch {
            for ring in rings { for frame in ring.frames { try? memory.free(frame, by: .app(app)) } }
            throw .ring(error)
        }
        try attach(rings, for: app, presenting: binding)
        return rings
    }

    /// Attaches rings the app set up in its own memory (one per worker, in worker order) as where
    /// its packets go, replacing any attached before. Needs the app's network binding with
    /// bind-network or tap. The rings' pages are not checked beyond their range: a page the app
    /// has not bound writable (or unbinds later) only cancels its own deliveries.
    public func attach(_ rings: [ReceiveRing], for app: AppID, presenting binding: CapabilityHandle)
        throws(MuxError)
    {
        try control.withLock { (state: inout ControlState) throws(MuxError) in
            guard state.apps[Int(app.index)] != nil else { throw .unknownApp(app) }
            try authorize(
                binding, binding: app, rights: [], orAnyOf: [.bindNetwork, .tap], for: "attaching rings")
            guard rings.count == configuration.workers else {
                throw .noRings(
                    "\(rings.count) rings given for \(configuration.workers) workers: an app needs one ring per worker"
                )
            }
            for ring in rings {
                guard ring.app == app else {
                    throw .unauthorized("attaching rings: a ring is in \(ring.app)'s memory")
                }
                guard Int(ring.firstPage) + ring.layout.pages <= configuration.pagesPerApp else {
                    throw .ring(.pagesOutOfRange(first: ring.firstPage, count: ring.layout.pages))
                }
            }
            state.nextIncarnation += 1
            state.apps[Int(app.index)]!.rings = Snapshot.AppRings(
                incarnation: state.nextIncarnation, rings: rings)
            try publish(&state)
        }
    }

    // MARK: Filters

    /// Installs a filter for `app`, on the authority of its network binding (bind-network for an
    /// exclusive filter, tap for a tap). A filter that would take packets from another app's
    /// filter needs that filter's guard, delegated to `app` with bind-network, among `guards`.
    /// Returns the filter's id and its new guard. Takes effect when this returns: the snapshot
    /// published includes it.
    public func install(
        _ request: FilterRequest, for app: AppID, presenting binding: CapabilityHandle,
        guards: [CapabilityHandle] = []
    ) throws(MuxError) -> InstalledMuxFilter {
        try control.withLock { (state: inout ControlState) throws(MuxError) -> InstalledMuxFilter in
            guard state.fixedEngine == nil else { throw .fixedProgram }
            guard let entry = state.apps[Int(app.index)] else { throw .unknownApp(app) }
            let action = "installing '\(request.name)'"
            try authorize(binding, binding: app, rights: request.isTap ? .tap : .bindNetwork, for: action)
            guard entry.rings != nil else {
                throw .noRings("\(action): \(entry.name) has no receive rings; create or attach them first")
            }
            var granted: Set<FilterID> = []
            for presented in guards {
                granted.insert(try guardedFilter(presented, holder: app, rights: .bindNetwork, for: action))
            }
            let id: FilterID
            do throws(TrieError) {
                id = try state.trie.insert(
                    name: request.name, app: entry.name, priority: request.priority, isTap: request.isTap,
                    tree: request.tree, authorizedOver: granted)
            } catch {
                throw .filter(error)
            }
            let guardCapability: CapabilityHandle
            do throws(MemoryError) {
                guardCapability = try memory.mint(
                    .filterGuard(id: UInt64(id.rawValue)), rights: [.bindNetwork, .grant, .revoke],
                    for: .app(app),
                    by: .kernel)
            } catch {
                try? state.trie.remove(named: request.name)
                throw .memory(error)
            }
            state.filters[id] = ControlState.Filter(
                name: request.name, app: app, isTap: request.isTap, guardCapability: guardCapability)
            if state.deferring > 0 { state.installedWhileDeferring.append(id) }
            state.labels[id] = ControlState.Label(name: request.name, app: entry.name, isTap: request.isTap)
            do throws(MuxError) {
                try publish(&state)
            } catch {
                try? state.trie.remove(named: request.name)
                state.filters[id] = nil
                try? memory.revoke(guardCapability, by: .kernel)
                throw error
            }
            return InstalledMuxFilter(id: id, guardCapability: guardCapability)
        }
    }

    /// Removes a filter, on the authority of its guard with revoke, held by `app`. Its guard and
    /// every delegation of it die with it.
    public func remove(_ id: FilterID, by app: AppID, presenting filterGuard: CapabilityHandle)
        throws(MuxError)
    {
        try control.withLock { (state: inout ControlState) throws(MuxError) in
            guard state.fixedEngine == nil else { throw .fixedProgram }
            guard let filter = state.filters[id] else { throw .unknownFilter(id) }
            let guarded = try guardedFilter(filterGuard, holder: app, rights: .revoke, for: "removing \(id)")
            guard guarded == id else {
                throw .unauthorized("removing \(id): \(filterGuard) guards filter \(guarded), not \(id)")
            }
            do throws(TrieError) { try state.trie.remove(named: filter.name) } catch { throw .filter(error) }
            state.filters[id] = nil
            try? memory.revoke(filter.guardCapability, by: .kernel)
            try publish(&state)
        }
    }

    /// Delegates a filter's guard to another app with bind-network: that app may then install a
    /// filter that takes packets from this one. Revoking the delegation (or removing the filter)
    /// takes the right back; filters installed with it stay.
    public func grant(_ filterGuard: CapabilityHandle, to other: AppID, by app: AppID) throws(MuxError)
        -> CapabilityHandle
    {
        _ = try guardedFilter(filterGuard, holder: app, rights: .grant, for: "granting")
        do { return try memory.delegate(filterGuard, to: other, rights: .bindNetwork, by: .app(app)) } catch {
            throw .memory(error)
        }
    }

    /// The filter `capability` guards, if it is a live guard held by `holder` with `rights`.
    func guardedFilter(_ capability: CapabilityHandle, holder: AppID, rights: Rights, for action: String)
        throws(MuxError) -> FilterID
    {
        let found: Capability
        do { found = try memory.capability(capability) } catch {
            throw .unauthorized(
                "\(action): guard \(capability) names no live capability (forged, altered or revoked)")
        }
        guard found.holder == .app(holder) else {
            throw .unauthorized("\(action): guard \(capability) is not held by \(holder)")
        }
        guard case .filterGuard(let raw) = found.resource, raw <= UInt64(UInt32.max) else {
            throw .unauthorized("\(action): \(capability) names \(found.resource), not a filter's guard")
        }
        guard found.rights.isSuperset(of: rights) else {
            throw .unauthorized("\(action): guard \(capability) carries \(found.rights), not \(rights)")
        }
        return FilterID(rawValue: UInt32(raw))
    }

    /// The installed filters, in install order.
    public var installedFilters: [(id: FilterID, name: String, app: String, isTap: Bool)] {
        control.withLock { state in
            state.trie.installed.map { ($0.id, $0.filter.name, $0.filter.app, $0.filter.isTap) }
        }
    }

    /// The generation of the snapshot now published (1 for the first, with no filters).
    public var generation: UInt64 { control.withLock { $0.generation } }

    /// Runs a compiled, verified program as it is, instead of filters installed by apps: the
    /// kernel's own configuration (a program compiled ahead of time, `dpf replay --program`).
    /// Registers every app the program names, with rings of `slots` slots each, and publishes a
    /// snapshot running the program; installs and removes are refused from then on. Only on a
    /// multiplexer with no apps yet.
    public func load(_ program: VerifiedProgram, slots: Int, slotSize: Int = RingLayout.defaultSlotSize)
        throws(MuxError) -> [MuxApp]
    {
        let engine = BytecodeEngine(Interpreter(program))
        let names = engine.filters.apps.map(\.name)
        let empty = control.withLock { state in state.appNames.isEmpty }
        guard empty else {
            throw .invalidConfiguration("a program can be loaded only before any app registers")
        }
        var apps: [MuxApp] = []
        for name in names {
            let app = try registerApp(named: name)
            try createRings(for: app.id, presenting: app.binding, slots: slots, slotSize: slotSize)
            apps.append(app)
        }
        try control.withLock { (state: inout ControlState) throws(MuxError) in
            state.fixedEngine = engine
            for filter in engine.filters.filters {
                state.labels[filter.id] = ControlState.Label(
                    name: filter.name, app: names[Int(filter.app)], isTap: filter.isTap)
            }
            try publish(&state)
        }
        return apps
    }

    /// Runs `body` (which installs, removes and attaches, from this thread or others) and
    /// publishes one snapshot for all its changes at the end, instead of one per change: setting
    /// up thousands of filters compiles once. Until `body` returns, changes made by any thread are
    /// not yet in effect. If the final snapshot cannot be compiled, every filter installed during
    /// the batch is removed again and the error thrown.
    public func withChangesBatched<Result>(_ body: () throws(MuxError) -> Result) throws(MuxError) -> Result {
        control.withLock { $0.deferring += 1 }
        let result: Result
        do {
            result = try body()
        } catch {
            try finishBatch()
            throw error
        }
        try finishBatch()
        return result
    }

    private func finishBatch() throws(MuxError) {
        try control.withLock { (state: inout ControlState) throws(MuxError) in
            state.deferring -= 1
            guard state.deferring == 0, state.changedWhileDeferring else { return }
            state.changedWhileDeferring = false
            let installed = state.installedWhileDeferring
            state.installedWhileDeferring = []
            do throws(MuxError) {
                try publish(&state)
            } catch {
                for id in installed {
                    guard let filter = state.filters[id] else { continue }
                    try? state.trie.remove(named: filter.name)
                    state.filters[id] = nil
                    try? memory.revoke(filter.guardCapability, by: .kernel)
                }
                try? publish(&state)
                throw error
            }
        }
    }

    // MARK: Snapshots

    /// Compiles the trie into a new snapshot, publishes it, waits until no worker can still be
    /// using the old one, and releases that.
    func publish(_ state: inout ControlState) throws(MuxError) {
        if state.deferring > 0 {
            state.changedWhileDeferring = true
            return
        }
        let engine: any DemuxEngine
        do {
            if let fixed = state.fixedEngine {
                engine = fixed
            } else {
                switch configuration.engine {
                case .bytecode: engine = BytecodeEngine(Interpreter(try Compiler.compile(state.trie)))
                // The trie changes after publication; the snapshot walks a copy of its own.
                case .trie, .reference: engine = try configuration.engine.make(state.trie.copy())
                }
            }
        } catch {
            throw .compile("the filters cannot be compiled: \(error)")
        }
        let table = engine.filters
        // One name lookup per app, not one per filter.
        let slotOfApp = table.apps.map { app in Int32(state.appNames[app.name]!.index) }
        let appOfFilter = table.filters.map { filter in slotOfApp[Int(filter.app)] }
        let filterIDs = table.filters.map(\.id.rawValue)
        state.filterIDBound = max(state.filterIDBound, Int(filterIDs.max().map { $0 + 1 } ?? 0))
        state.generation += 1
        let snapshot = Snapshot(
            generation: state.generation, engine: engine, appOfFilter: appOfFilter, filterIDs: filterIDs,
            filterIDBound: state.filterIDBound, rings: state.apps.map { $0?.rings })
        let old = snapshots.exchange(snapshot)
        memory.synchronizeWorkers()
        old?.release()
    }
}

/// The control plane's state, under the multiplexer's lock.
struct ControlState: ~Copyable {
    struct App {
        let id: AppID
        let name: String
        var rings: Snapshot.AppRings?
    }

    struct Filter {
        let name: String
        let app: AppID
        let isTap: Bool
        let guardCapability: CapabilityHandle
    }

    /// What statistics call a filter, kept after it is removed.
    struct Label {
        let name: String
        let app: String
        let isTap: Bool
    }

    var trie: DecisionTrie
    var apps: [App?]
    var appNames: [String: AppID] = [:]
    var filters: [FilterID: Filter] = [:]
    var labels: [FilterID: Label] = [:]
    var generation: UInt64 = 0
    var nextIncarnation: UInt64 = 0
    var filterIDBound = 0
    /// Open `withChangesBatched` calls: while positive, changes are not published one by one.
    var deferring = 0
    var changedWhileDeferring = false
    /// Filters installed while deferring, undone if the batch's snapshot cannot be compiled.
    var installedWhileDeferring: [FilterID] = []
    /// A compiled program loaded as-is (`Multiplexer.load`): snapshots run it, and filters can
    /// no longer be installed or removed.
    var fixedEngine: (any DemuxEngine)?

    init(linkType: LinkType, maxApps: Int) {
        trie = DecisionTrie(linkType: linkType)
        apps = Array(repeating: nil, count: maxApps)
    }
}
