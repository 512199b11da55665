import DPFMemory
import Testing

@Suite struct BindingTests {
    @Test func bindingChecksTheCapabilityOnce() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let other = try core.registerApp()
        let grant = try core.allocate(for: .app(app))
        let readOnly = try core.derive(grant.capability, rights: .read, by: .app(app))
        #expect(throws: MemoryError.notHolder(.app(other))) {
            try core.bind(other, page: 0, to: grant.frame, rights: .read, using: grant.capability)
        }
        #expect(throws: MemoryError.insufficientRights(needed: [.read, .write], held: .read)) {
            try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: readOnly)
        }
        #expect(throws: MemoryError.wrongResource) {
            try core.bind(app, page: 0, to: 1, rights: .read, using: grant.capability)
        }
        #expect(throws: MemoryError.pageOutOfRange(256)) {
            try core.bind(app, page: 256, to: grant.frame, rights: .read, using: grant.capability)
        }
        try core.bind(app, page: 0, to: grant.frame, rights: .read, using: readOnly)
        #expect(throws: MemoryError.pageAlreadyBound(0)) {
            try core.bind(app, page: 0, to: grant.frame, rights: .read, using: grant.capability)
        }
        #expect(throws: MemoryError.pageNotBound(1)) { try core.unbind(app, page: 1) }
        #expect(throws: MemoryError.noAccessRights) {
            try core.bind(app, page: 2, to: grant.frame, rights: .tap, using: grant.capability)
        }
        #expect(core.pageTable(of: app).mapping(of: 0) == Mapping(page: 0, frame: grant.frame, rights: .read))
    }

    /// The write path's own check, apart from TLB shootdowns: a translation kept past an unbind,
    /// or past the frame's free and reuse by another app, writes nothing, because the frame's
    /// generation moved on.
    @Test func aTranslationKeptPastAnUnbindOrAFreeWritesNothing() throws {
        let core = try MemoryCore(frames: 2)
        let app = try core.registerApp()
        let other = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let marker: [UInt8] = [0xA5, 0xA5, 0xA5, 0xA5]
        func write(_ translation: Translation) -> Bool {
            core.withCriticalSection(worker) { access in
                marker.withUnsafeBytes { access.write($0, into: translation, offset: 0) }
            }
        }
        let kept = try #require(core.withCriticalSection(worker) { $0.translate(app, page: 0, for: .write) })
        #expect(write(kept))

        try core.unbind(app, page: 0)
        #expect(!write(kept))
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let rebound = try #require(
            core.withCriticalSection(worker) { $0.translate(app, page: 0, for: .write) })
        #expect(rebound.generation != kept.generation)

        try core.free(grant.frame, by: .app(app))
        let reused = try core.allocate(for: .app(other), frame: grant.frame)
        #expect(!write(kept))
        #expect(!write(rebound))
        try core.bind(other, page: 1, to: reused.frame, rights: .read, using: reused.capability)
        let word = core.withCriticalSection(worker) { $0.load(from: other, page: 1, offset: 0) }
        #expect(word == 0)
    }

    /// A translation cached by a worker (a ring writer's one-entry TLB) stays current until its
    /// page is unbound or its frame freed, and counts as a TLB hit while it is; its frame's bytes
    /// are the frame itself.
    @Test func aCachedTranslationIsCurrentUntilItsBindingGoes() throws {
        let core = try MemoryCore(frames: 2)
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let kept = try #require(core.withCriticalSection(worker) { $0.translate(app, page: 0, for: .write) })
        let before = core.tlbStatistics(of: app)
        core.withCriticalSection(worker) { access in
            #expect(access.isCurrent(kept, of: app))
            let bytes = access.frameBytes(of: kept)
            #expect(bytes?.count == FrameArena.frameSize)
            bytes?.storeBytes(of: 0x5A, toByteOffset: 100, as: UInt8.self)
        }
        #expect(core.tlbStatistics(of: app).hits == before.hits + 1)
        let word = core.withCriticalSection(worker) { $0.load(from: app, page: 0, offset: 96) }
        #expect(word.map { ($0 >> 32) & 0xFF } == 0x5A)

        try core.unbind(app, page: 0)
        #expect(!core.withCriticalSection(worker) { $0.isCurrent(kept, of: app) })
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        #expect(!core.withCriticalSection(worker) { $0.isCurrent(kept, of: app) })
        let rebound = try #require(
            core.withCriticalSection(worker) { $0.translate(app, page: 0, for: .write) })
        try core.free(grant.frame, by: .app(app))
        #expect(!core.withCriticalSection(worker) { $0.isCurrent(rebound, of: app) })
        #expect(!core.withCriticalSection(worker) { $0.isCurrent(rebound, of: AppID(99)) })
    }

    @Test func translationsHitTheTLBAndAreCounted() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 5, to: grant.frame, rights: [.read, .write], using: grant.capability)
        core.withCriticalSection(worker) { access in
            #expect(access.translate(app, page: 5, for: .read)?.frame == grant.frame)
            for _ in 0..<9 { #expect(access.translate(app, page: 5, for: .write)?.frame == grant.frame) }
            #expect(access.translate(app, page: 6, for: .read) == nil)
            #expect(access.translate(app, page: 5, for: .tap) == nil)
            #expect(access.translate(AppID(99), page: 5, for: .read) == nil)
            #expect(access.translate(app, page: 10_000, for: .read) == nil)
        }
        let statistics = core.tlbStatistics(of: app)
        #expect(statistics.misses == 2)  // the first fill, and page 6
        #expect(statistics.hits == 10)
        #expect(core.tlbEntries(of: app).map(\.page) == [5])
    }

    @Test func readOnlyBindingsRefuseWrites() throws {
        let core = try MemoryCore(frames: 2)
        let owner = try core.registerApp()
        let reader = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(owner))
        let shared = try core.share(grant.capability, with: reader, by: .app(owner))
        try core.bind(owner, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        try core.bind(reader, page: 9, to: grant.frame, rights: .read, using: shared)
        core.withCriticalSection(worker) { access in
            #expect(access.store(77, to: owner, page: 0, offset: 8))
            #expect(!access.store(1, to: reader, page: 9, offset: 8))
            #expect(access.load(from: reader, page: 9, offset: 8) == 77)
            #expect(!access.store(1, to: owner, page: 0, offset: 4090))
            #expect(!access.store(1, to: owner, page: 0, offset: 3))
        }
    }

    /// Coherence: after unbind, free or revoke, no TLB still translates to the frame.
    @Test func shootdownsLeaveNoStaleTranslation() throws {
        let core = try MemoryCore(frames: 4)
        let owner = try core.registerApp()
        let reader = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(owner))
        let shared = try core.share(grant.capability, with: reader, by: .app(owner))
        try core.bind(owner, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        try core.bind(owner, page: 1, to: grant.frame, rights: .read, using: grant.capability)
        try core.bind(reader, page: 2, to: grant.frame, rights: .read, using: shared)
        func warm() {
            core.withCriticalSection(worker) { access in
                _ = access.translate(owner, page: 0, for: .read)
                _ = access.translate(owner, page: 1, for: .read)
                _ = access.translate(reader, page: 2, for: .read)
            }
        }
        warm()
        #expect(core.tlbEntries(of: owner).map(\.page) == [0, 1])
        #expect(core.tlbEntries(of: reader).map(\.page) == [2])

        try core.unbind(owner, page: 0)
        core.withCriticalSection(worker) { access in
            #expect(access.translate(owner, page: 0, for: .read) == nil)
            #expect(access.translate(owner, page: 1, for: .read)?.frame == grant.frame)
        }
        #expect(!core.tlbEntries(of: owner).contains { $0.page == 0 })

        try core.revoke(shared, by: .app(owner))
        core.withCriticalSection(worker) { access in
            #expect(access.translate(reader, page: 2, for: .read) == nil)
        }
        #expect(core.tlbEntries(of: reader).isEmpty)

        warm()
        try core.free(grant.frame, by: .app(owner))
        #expect(core.tlbEntries(of: owner).isEmpty)
        let newcomer = try core.registerApp()
        let again = try core.allocate(for: .app(newcomer))
        #expect(again.frame == grant.frame)
        core.withCriticalSection(worker) { access in
            #expect(access.translate(owner, page: 1, for: .read) == nil)
            #expect(!access.store(5, to: owner, page: 1, offset: 0))
        }
    }

    @Test func queuedWritesAreDeliveredOrDropped() throws {
        let core = try MemoryCore(frames: 2)
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        try core.queueWrite([1, 2, 3], to: app, page: 0, offset: 100)
        #expect(throws: MemoryError.outOfFrame(offset: 4095, count: 3)) {
            try core.queueWrite([1, 2, 3], to: app, page: 0, offset: 4095)
        }
        #expect(throws: MemoryError.pageNotBound(1)) { try core.queueWrite([1], to: app, page: 1, offset: 0) }
        let result = core.deliverQueuedWrites(using: worker)
        #expect(result.delivered == 1 && result.dropped == 0)
        #expect(Array(try core.arena.contents(of: grant.frame)[100..<103]) == [1, 2, 3])
        // A write queued before an unbind and rebind is stale: the frame's generation moved on.
        try core.queueWrite([9], to: app, page: 0, offset: 0)
        try core.unbind(app, page: 0)
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        #expect(core.deliverQueuedWrites(using: worker).dropped == 1)
        #expect(try core.arena.contents(of: grant.frame)[0] == 0)
        // Freeing the frame cancels what is queued for it.
        try core.queueWrite([9], to: app, page: 0, offset: 0)
        try core.free(grant.frame, by: .app(app))
        #expect(core.cancelledWrites(of: app) == 1)
        #expect(core.deliverQueuedWrites(using: worker).delivered == 0)
    }
}
