import DPFBytecode
import DPFEngine
import DPFFilter
import DPFMemory
import DPFMux
import DPFTrie
import DPFWire

/// Sets up a multiplexer the way `dpf replay` runs one: an app per filter-set app, each with one
/// ring per worker, its filters installed through the capability checks in declaration order.
enum MuxSetup {
    /// Rings hold at most this many slots by default, and all rings together at most
    /// `defaultFrameBudget` frames (1 GiB): a default that thousands of apps can afford.
    static let defaultRingSlots = 4_096
    static let minimumDefaultRingSlots = 64
    static let defaultFrameBudget = 1 << 18
    /// The most frames `--ring-size` may ask for over all rings (8 GiB of address space).
    static let frameLimit = 1 << 21

    /// Pages one ring of `slots` slots of the default size spans.
    static func pages(slots: Int) -> Int {
        (try? RingLayout(slotCount: slots).pages) ?? Int.max
    }

    /// The ring size: the one asked for, checked, or the largest default the budget affords.
    static func ringSlots(requested: Int?, apps: Int, workers: Int) throws(CommandFailure) -> Int {
        let rings = max(1, apps * workers)
        if let requested {
            guard (1...RingLayout.maximumSlots).contains(requested) else {
                throw CommandFailure(
                    .usage, "--ring-size must be in 1...\(RingLayout.maximumSlots), not \(requested)")
            }
            guard rings * pages(slots: requested) <= frameLimit else {
                throw CommandFailure(
                    .usage,
                    "--ring-size \(requested) for \(rings) rings (\(apps) apps × \(workers) workers) needs more than \(frameLimit / 256) MiB; give a smaller --ring-size"
                )
            }
            return requested
        }
        var slots = defaultRingSlots
        while slots > minimumDefaultRingSlots, rings * pages(slots: slots) > defaultFrameBudget { slots /= 2 }
        guard rings * pages(slots: slots) <= frameLimit else {
            throw CommandFailure(
                .usage,
                "\(rings) rings (\(apps) apps × \(workers) workers) of \(slots) slots need more than \(frameLimit / 256) MiB; use fewer --workers or a smaller --ring-size"
            )
        }
        return slots
    }

    static func configuration(linkType: LinkType, engine: EngineKind, apps: Int, workers: Int, slots: Int)
        throws(CommandFailure) -> MuxConfiguration
    {
        guard apps <= MemoryCore.Configuration.appLimit else {
            throw CommandFailure(
                .badInput,
                "\(apps) apps is more than the \(MemoryCore.Configuration.appLimit) the multiplexer registers"
            )
        }
        let pagesPerRing = pages(slots: slots)
        return MuxConfiguration(
            linkType: linkType, workers: workers, engine: engine,
            frames: max(1, apps * workers * pagesPerRing), maxApps: max(1, apps),
            pagesPerApp: max(1, workers * pagesPerRing))
    }

    /// A multiplexer running `set`'s filters (already checked by `TrieBuilder`: every steal the
    /// files allow is granted here by delegating the victim's guard to the thief).
    static func make(_ set: FilterSet, engine: EngineKind, workers: Int, ringSize: Int?)
        throws(CommandFailure)
        -> (mux: Multiplexer, slots: Int)
    {
        let apps = set.apps.filter { !$0.filters.isEmpty }
        let slots = try ringSlots(requested: ringSize, apps: apps.count, workers: workers)
        let setup = try configuration(
            linkType: set.linkType, engine: engine, apps: apps.count, workers: workers, slots: slots)
        let mux: Multiplexer
        do throws(MuxError) {
            mux = try Multiplexer(setup)
            var registered: [String: MuxApp] = [:]
            var grants: [String: Set<String>] = [:]
            for app in apps { grants.merge(app.grants) { $0.union($1) } }
            for app in apps {
                let muxApp = try mux.registerApp(named: app.name)
                try mux.createRings(for: muxApp.id, presenting: muxApp.binding, slots: slots)
                registered[app.name] = muxApp
            }
            // One snapshot for the whole set, not one per filter.
            try mux.withChangesBatched { () throws(MuxError) in
                try install(set, into: mux, registered: registered, grants: grants)
            }
        } catch {
            throw MuxSetup.failure(error)
        }
        return (mux, slots)
    }

    /// Installs every filter of `set` in declaration order, presenting the guards the files'
    /// grants allow (delegated by their holders).
    private static func install(
        _ set: FilterSet, into mux: Multiplexer, registered: [String: MuxApp], grants: [String: Set<String>]
    ) throws(MuxError) {
        var guards: [String: (app: MuxApp, capability: CapabilityHandle)] = [:]
        for (app, filter) in set.allFilters {
            let installer = registered[app.name]!
            var presented: [CapabilityHandle] = []
            for (victim, granted) in grants where granted.contains(app.name) {
                guard let holder = guards[victim] else { continue }
                presented.append(try mux.grant(holder.capability, to: installer.id, by: holder.app.id))
            }
            let installed = try mux.install(
                FilterRequest(
                    name: filter.name, tree: filter.tree, priority: app.priority, isTap: app.isTap),
                for: installer.id, presenting: installer.binding, guards: presented)
            guards[filter.name] = (installer, installed.guardCapability)
        }
    }

    /// A multiplexer running a compiled program as it is.
    static func make(_ program: VerifiedProgram, linkType: LinkType, workers: Int, ringSize: Int?)
        throws(CommandFailure) -> (mux: Multiplexer, slots: Int)
    {
        let apps = Set(program.program.filters.map(\.app)).count
        let slots = try ringSlots(requested: ringSize, apps: apps, workers: workers)
        let setup = try configuration(
            linkType: linkType, engine: .bytecode, apps: apps, workers: workers, slots: slots)
        do throws(MuxError) {
            let mux = try Multiplexer(setup)
            _ = try mux.load(program, slots: slots)
            return (mux, slots)
        } catch {
            throw MuxSetup.failure(error)
        }
    }

    static func failure(_ error: MuxError) -> CommandFailure {
        switch error {
        case .filter, .compile: CommandFailure(.badInput, error.description)
        case .memory(.arenaUnavailable):
            CommandFailure(.environment, "cannot set up the rings' memory: \(error)")
        default: CommandFailure(.internalError, "internal error: the multiplexer refused its setup: \(error)")
        }
    }

    /// One consumer per ring of every registered app, in app then worker order, with each app's
    /// name.
    static func consumers(of mux: Multiplexer, slots: Int) throws(CommandFailure) -> [RingConsumer] {
        let pagesPerRing = pages(slots: slots)
        var consumers: [RingConsumer] = []
        for app in mux.statistics().apps {
            for worker in 0..<mux.configuration.workers {
                do {
                    consumers.append(
                        try RingConsumer(
                            core: mux.memory, app: app.id, firstPage: UInt32(worker * pagesPerRing)))
                } catch {
                    throw CommandFailure(
                        .internalError, "internal error: cannot attach to \(app.name)'s ring: \(error)")
                }
            }
        }
        return consumers
    }
}
