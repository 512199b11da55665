import DPFMemory
import DPFTestSupport
import Testing

/// Random sequences of every operation across several apps, checked after every step against a
/// plain model of the core: one owner per frame, no access without rights, no stale translation,
/// zero on reuse, the repossession vector exact, guaranteed minimums respected.
@Suite struct ModelTests {
    static let frameCount = 12
    static let pages: UInt32 = 6
    static let guarantees = [1, 2, 0]

    struct ModelCapability {
        let handle: CapabilityHandle
        let frame: UInt32?  // nil: a filter guard
        let rights: Rights
        let holder: Principal
        let parent: Int?
        var live = true
    }

    struct ModelBinding: Equatable {
        let frame: UInt32
        let rights: Rights
        let capability: Int
    }

    struct Queued {
        let app: AppID
        let page: UInt32
        let frame: UInt32
        let generation: Int
    }

    /// The model: plain arrays and dictionaries, no cleverness.
    struct Model {
        var owners: [Principal?] = Array(repeating: nil, count: ModelTests.frameCount)
        var generations: [Int] = Array(repeating: 0, count: ModelTests.frameCount)
        var words: [[Int: UInt64]] = Array(repeating: [:], count: ModelTests.frameCount)
        var capabilities: [ModelCapability] = []
        var bindings: [PageKey: ModelBinding] = [:]
        var pending: [AppID: (remaining: Int, deadline: UInt64)] = [:]
        var vectors: [AppID: [Repossession]] = [:]
        var notifications: [AppID: [MemoryNotification]] = [:]
        var queued: [Queued] = []
        var cancelled: [AppID: Int] = [:]

        func owned(by owner: Principal) -> [UInt32] {
            (0..<UInt32(ModelTests.frameCount)).filter { owners[Int($0)] == owner }
        }

        func isAncestor(_ ancestor: Int, of index: Int) -> Bool {
            var current: Int? = index
            while let value = current {
                if value == ancestor { return true }
                current = capabilities[value].parent
            }
            return false
        }

        mutating func breakBinding(_ key: PageKey) {
            guard let binding = bindings.removeValue(forKey: key) else { return }
            generations[Int(binding.frame)] += 1
        }

        mutating func kill(_ index: Int) {
            for other in capabilities.indices where capabilities[other].live && isAncestor(index, of: other) {
                capabilities[other].live = false
                for (key, binding) in bindings where binding.capability == other { breakBinding(key) }
            }
        }

        /// Returns the writes cancelled per app.
        mutating func reclaim(_ frames: [UInt32]) -> [AppID: Int] {
            var cancelledNow: [AppID: Int] = [:]
            for frame in frames {
                for (key, binding) in bindings where binding.frame == frame { breakBinding(key) }
                for index in capabilities.indices
                where capabilities[index].live && capabilities[index].frame == frame {
                    kill(index)
                }
                for write in queued where write.frame == frame { cancelledNow[write.app, default: 0] += 1 }
                queued.removeAll { $0.frame == frame }
                generations[Int(frame)] += 1
                owners[Int(frame)] = nil
                words[Int(frame)] = [:]
            }
            for (app, count) in cancelledNow { cancelled[app, default: 0] += count }
            return cancelledNow
        }
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func randomOperationsAgreeWithTheModel(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let core = try MemoryCore(
            MemoryCore.Configuration(
                frames: ModelTests.frameCount, maxApps: 3, pagesPerApp: Int(ModelTests.pages), maxWorkers: 1))
        let apps = try ModelTests.guarantees.map { try core.registerApp(guaranteedFrames: $0) }
        let worker = try core.registerWorker()
        var model = Model()
        var now: UInt64 = 0
        let principals: [Principal] = apps.map { .app($0) } + [.kernel]
        // What succeeded, so that a vacuous run (everything refused) fails.
        var exercised: [String: Int] = [:]

        func pickCapability() -> Int? {
            guard !model.capabilities.isEmpty else { return nil }
            let live = model.capabilities.indices.filter { model.capabilities[$0].live }
            if !live.isEmpty && random.chance(0.85) { return random.pick(live) }
            return Int.random(in: 0..<model.capabilities.count, using: &random)
        }
        func randomRights() -> Rights { Rights(rawValue: UInt8.random(in: 0..<64, using: &random)) }

        for step in 0..<2_500 {
            let operation = Int.random(in: 0..<16, using: &random)
            let context = "seed \(seed) step \(step) operation \(operation)"
            switch operation {
            case 0, 1:  // allocate, a specific frame or any
                let owner = random.chance(0.85) ? Principal.app(random.pick(apps)) : .kernel
                let specific: UInt32? =
                    random.chance(0.3)
                    ? UInt32.random(in: 0...UInt32(ModelTests.frameCount), using: &random) : nil
                let expected: UInt32? =
                    specific.map {
                        Int($0) < ModelTests.frameCount && model.owners[Int($0)] == nil ? $0 : nil
                    }
                    ?? (0..<UInt32(ModelTests.frameCount)).first { model.owners[Int($0)] == nil }
                let grant = try? core.allocate(for: owner, frame: specific)
                #expect(grant?.frame == expected, "\(context)")
                if let grant {
                    exercised["allocate", default: 0] += 1
                    #expect(
                        try core.arena.contents(of: grant.frame).allSatisfy { $0 == 0 },
                        "\(context): not zero")
                    model.owners[Int(grant.frame)] = owner
                    model.capabilities.append(
                        ModelCapability(
                            handle: grant.capability, frame: grant.frame, rights: .frameOwner, holder: owner,
                            parent: nil))
                }
            case 2:  // free
                let principal = random.pick(principals)
                let frame = UInt32.random(in: 0...UInt32(ModelTests.frameCount), using: &random)
                let allowed = Int(frame) < ModelTests.frameCount && model.owners[Int(frame)] == principal
                let done = (try? core.free(frame, by: principal)) != nil
                #expect(done == allowed, "\(context)")
                if done {
                    exercised["free", default: 0] += 1
                    _ = model.reclaim([frame])
                    #expect(
                        try core.arena.contents(of: frame).allSatisfy { $0 == 0 }, "\(context): not zeroed")
                }
            case 3, 4:  // derive or delegate (share when read-only to a non-owner)
                guard let index = pickCapability() else { continue }
                let source = model.capabilities[index]
                let presenter = random.chance(0.9) ? source.holder : random.pick(principals)
                let target: Principal = operation == 3 ? presenter : .app(random.pick(apps))
                let rights = random.chance(0.5) ? source.rights.intersection(randomRights()) : randomRights()
                var allowed =
                    source.live && (presenter == .kernel || source.holder == presenter)
                    && source.rights.contains(.grant) && source.rights.isSuperset(of: rights)
                if let frame = source.frame, target != presenter, model.owners[Int(frame)] != target {
                    allowed = allowed && Rights.read.isSuperset(of: rights)
                }
                let handle: CapabilityHandle?
                if operation == 3 {
                    handle = try? core.derive(source.handle, rights: rights, by: presenter)
                } else {
                    handle = try? core.delegate(source.handle, to: target.app!, rights: rights, by: presenter)
                }
                #expect((handle != nil) == allowed, "\(context)")
                if let handle {
                    exercised[operation == 3 ? "derive" : "delegate", default: 0] += 1
                    model.capabilities.append(
                        ModelCapability(
                            handle: handle, frame: source.frame, rights: rights, holder: target, parent: index
                        ))
                }
            case 5, 6:  // bind
                guard let index = pickCapability() else { continue }
                let capability = model.capabilities[index]
                let app =
                    random.chance(0.9) ? (capability.holder.app ?? random.pick(apps)) : random.pick(apps)
                let page = UInt32.random(in: 0..<ModelTests.pages, using: &random)
                let rights = random.pick([Rights.read, .write, [.read, .write]])
                let frame =
                    capability.frame ?? UInt32.random(in: 0..<UInt32(ModelTests.frameCount), using: &random)
                let allowed =
                    capability.live && capability.frame != nil && capability.holder == .app(app)
                    && capability.rights.isSuperset(of: rights)
                    && model.bindings[PageKey(app: app, page: page)] == nil
                let done =
                    (try? core.bind(app, page: page, to: frame, rights: rights, using: capability.handle))
                    != nil
                #expect(done == allowed, "\(context)")
                if done {
                    exercised["bind", default: 0] += 1
                    model.bindings[PageKey(app: app, page: page)] = ModelBinding(
                        frame: frame, rights: rights, capability: index)
                }
            case 7:  // unbind
                let key = PageKey(
                    app: random.pick(apps), page: UInt32.random(in: 0..<ModelTests.pages, using: &random))
                let done = (try? core.unbind(key.app, page: key.page)) != nil
                #expect(done == (model.bindings[key] != nil), "\(context)")
                if done { exercised["unbind", default: 0] += 1 }
                model.breakBinding(key)
            case 8:  // revoke
                guard let index = pickCapability() else { continue }
                let principal =
                    random.chance(0.8) ? model.capabilities[index].holder : random.pick(principals)
                var allowed = model.capabilities[index].live
                if principal != .kernel {
                    var current: Int? = index
                    var found = false
                    while let value = current {
                        let capability = model.capabilities[value]
                        if capability.holder == principal && capability.rights.contains(.revoke) {
                            found = true
                        }
                        current = capability.parent
                    }
                    allowed = allowed && found
                }
                let done = (try? core.revoke(model.capabilities[index].handle, by: principal)) != nil
                #expect(done == allowed, "\(context)")
                if done {
                    exercised["revoke", default: 0] += 1
                    model.kill(index)
                }
            case 9:  // worker stores through the TLB
                let key = PageKey(
                    app: random.pick(apps), page: UInt32.random(in: 0..<ModelTests.pages, using: &random))
                let offset = 8 * Int.random(in: 0..<4, using: &random)
                let word = random.next() | 1
                let stored = core.withCriticalSection(worker) {
                    $0.store(word, to: key.app, page: key.page, offset: offset)
                }
                let binding = model.bindings[key]
                #expect(stored == (binding?.rights.contains(.write) ?? false), "\(context)")
                if stored { exercised["store", default: 0] += 1 }
                if stored, let binding { model.words[Int(binding.frame)][offset] = word }
            case 10:  // request a revocation
                let app = random.pick(apps)
                let count = Int.random(in: 0...4, using: &random)
                let deadline = now + UInt64.random(in: 0...5, using: &random)
                try core.requestRevocation(from: app, count: count, deadline: deadline)
                model.pending[app] = (count, deadline)
                model.notifications[app, default: []].append(
                    .revocationRequested(count: count, deadline: deadline))
            case 11:  // give back
                let app = random.pick(apps)
                let owned = model.owned(by: .app(app))
                var chosen = owned.filter { _ in random.chance(0.4) }
                if random.chance(0.1) {
                    chosen.append(UInt32.random(in: 0..<UInt32(ModelTests.frameCount), using: &random))
                }
                let allowed =
                    model.pending[app] != nil && chosen.allSatisfy { model.owners[Int($0)] == .app(app) }
                let done = (try? core.giveBack(chosen, from: app)) != nil
                #expect(done == allowed, "\(context)")
                if done {
                    exercised["give back", default: 0] += 1
                    let unique = Array(Set(chosen)).sorted()
                    _ = model.reclaim(unique)
                    let remaining = max(0, model.pending[app]!.remaining - unique.count)
                    model.pending[app] = remaining == 0 ? nil : (remaining, model.pending[app]!.deadline)
                }
            case 12:  // time passes; deadlines expire
                now += UInt64.random(in: 0...3, using: &random)
                var expected: [AppID: [UInt32]] = [:]
                for (index, app) in apps.enumerated() {
                    guard let request = model.pending[app], request.deadline <= now else { continue }
                    let owned = model.owned(by: .app(app))
                    let isBound = { (frame: UInt32) in model.bindings.values.contains { $0.frame == frame } }
                    let order = owned.filter { !isBound($0) }.reversed() + owned.filter(isBound).reversed()
                    let allowance = max(0, owned.count - ModelTests.guarantees[index])
                    let victims = Array(order.prefix(min(request.remaining, allowance))).sorted()
                    let pages = victims.map { frame in
                        model.bindings.filter { $0.key.app == app && $0.value.frame == frame }.map(\.key.page)
                            .sorted()
                    }
                    let cancelled = model.reclaim(victims)
                    model.vectors[app, default: []] += zip(victims, pages).map {
                        Repossession(frame: $0, time: now, pages: $1)
                    }
                    model.notifications[app, default: []].append(
                        .repossessed(frames: victims, time: now, cancelledWrites: cancelled[app] ?? 0))
                    model.pending[app] = nil
                    expected[app] = victims
                    exercised["repossessed frames", default: 0] += victims.count
                    #expect(
                        model.owned(by: .app(app)).count >= min(owned.count, ModelTests.guarantees[index]),
                        "\(context): below the guarantee")
                }
                #expect(core.expireDeadlines(now: now) == expected, "\(context)")
            case 13:  // forged, altered and stale handles
                let forged = CapabilityHandle(
                    slot: UInt32.random(in: 0..<64, using: &random),
                    generation: UInt32.random(in: 0..<4, using: &random),
                    tag: random.next())
                #expect(!core.check(forged, rights: [], by: .kernel), "\(context): forged")
                guard let index = pickCapability() else { continue }
                let real = model.capabilities[index]
                let bit = Int.random(in: 0..<128, using: &random)
                let altered =
                    bit < 64
                    ? CapabilityHandle(
                        slot: real.handle.slot, generation: real.handle.generation,
                        tag: real.handle.tag ^ (1 << bit))
                    : bit < 96
                        ? CapabilityHandle(
                            slot: real.handle.slot, generation: real.handle.generation ^ (1 << (bit - 64)),
                            tag: real.handle.tag)
                        : CapabilityHandle(
                            slot: real.handle.slot ^ (1 << (bit - 96)), generation: real.handle.generation,
                            tag: real.handle.tag)
                #expect(!core.check(altered, rights: [], by: .kernel), "\(context): altered")
                let app = random.pick(apps)
                #expect(
                    (try? core.bind(app, page: 0, to: 0, rights: .read, using: altered)) == nil, "\(context)")
                #expect(core.check(real.handle, rights: [], by: .kernel) == real.live, "\(context): stale")
            case 14:  // queue a write
                let key = PageKey(
                    app: random.pick(apps), page: UInt32.random(in: 0..<ModelTests.pages, using: &random))
                let done = (try? core.queueWrite([0xFF], to: key.app, page: key.page, offset: 100)) != nil
                let binding = model.bindings[key]
                #expect(done == (binding?.rights.contains(.write) ?? false), "\(context)")
                if done, let binding {
                    model.queued.append(
                        Queued(
                            app: key.app, page: key.page, frame: binding.frame,
                            generation: model.generations[Int(binding.frame)]))
                }
            default:  // deliver queued writes
                let deliverable = model.queued.filter { write in
                    guard let binding = model.bindings[PageKey(app: write.app, page: write.page)] else {
                        return false
                    }
                    return binding.frame == write.frame && binding.rights.contains(.write)
                        && model.generations[Int(write.frame)] == write.generation
                }
                let result = core.deliverQueuedWrites(using: worker)
                exercised["delivered", default: 0] += deliverable.count
                exercised["dropped", default: 0] += model.queued.count - deliverable.count
                #expect(result.delivered == deliverable.count, "\(context)")
                #expect(result.dropped == model.queued.count - deliverable.count, "\(context)")
                model.queued = []
                for write in deliverable {
                    model.words[Int(write.frame)][96] =
                        (model.words[Int(write.frame)][96] ?? 0) | (0xFF << 32)
                }
            }
            try checkInvariants(core: core, model: model, apps: apps, worker: worker, context: context)
        }
        for kind in [
            "allocate", "free", "derive", "delegate", "bind", "revoke", "store", "give back",
            "repossessed frames",
            "delivered", "dropped", "unbind",
        ] {
            let least = kind == "delivered" || kind == "dropped" ? 1 : 5
            #expect(
                exercised[kind, default: 0] >= least,
                "seed \(seed): \(kind) only \(exercised[kind, default: 0]) times")
        }
        for app in apps {
            #expect(core.takeNotifications(of: app) == model.notifications[app, default: []])
            #expect(core.cancelledWrites(of: app) == model.cancelled[app, default: 0])
        }
    }

    private func checkInvariants(
        core: MemoryCore, model: Model, apps: [AppID], worker: Worker, context: String
    ) throws {
        // One owner per frame, the model's.
        for frame in 0..<UInt32(ModelTests.frameCount) {
            #expect(try core.owner(of: frame) == model.owners[Int(frame)], "\(context): owner of \(frame)")
        }
        for app in apps {
            // The page table is the model's; every translation is, with its rights; no TLB entry
            // is stale; words written read back.
            let expected = model.bindings.filter { $0.key.app == app }
                .map { Mapping(page: $0.key.page, frame: $0.value.frame, rights: $0.value.rights) }
                .sorted { $0.page < $1.page }
            #expect(core.pageTable(of: app).mappings == expected, "\(context): page table of \(app)")
            for entry in core.tlbEntries(of: app) {
                #expect(
                    model.bindings[PageKey(app: app, page: entry.page)]?.frame == entry.frame,
                    "\(context): stale TLB")
            }
            core.withCriticalSection(worker) { access in
                for page in 0..<ModelTests.pages {
                    let binding = model.bindings[PageKey(app: app, page: page)]
                    let read = access.translate(app, page: page, for: .read)
                    let write = access.translate(app, page: page, for: .write)
                    #expect(
                        read?.frame == (binding?.rights.contains(.read) == true ? binding?.frame : nil),
                        "\(context)")
                    #expect(
                        write?.frame == (binding?.rights.contains(.write) == true ? binding?.frame : nil),
                        "\(context)")
                    if let binding, binding.rights.contains(.read) {
                        for offset in [0, 8, 16, 24, 96] {
                            #expect(
                                access.load(from: app, page: page, offset: offset)
                                    == model.words[Int(binding.frame)][offset] ?? 0, "\(context): word")
                        }
                    }
                }
            }
            #expect(
                core.pendingRevocation(of: app).map { [$0.remaining, Int($0.deadline)] }
                    == model.pending[app].map { [$0.remaining, Int($0.deadline)] }, "\(context): pending")
            #expect(core.repossessionVector(of: app) == model.vectors[app, default: []], "\(context): vector")
        }
        // Capabilities are live exactly when the model says.
        for capability in model.capabilities.suffix(48) {
            #expect(
                core.check(capability.handle, rights: [], by: .kernel) == capability.live,
                "\(context): capability")
        }
    }
}
