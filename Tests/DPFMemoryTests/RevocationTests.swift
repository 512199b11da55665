import DPFMemory
import DPFTestSupport
import Testing

@Suite struct RevocationTests {
    @Test func theAppChoosesWhatToGiveBack() throws {
        let core = try MemoryCore(frames: 8)
        let app = try core.registerApp(guaranteedFrames: 1)
        for _ in 0..<4 { _ = try core.allocate(for: .app(app)) }
        try core.requestRevocation(from: app, count: 2, deadline: 10)
        #expect(core.takeNotifications(of: app) == [.revocationRequested(count: 2, deadline: 10)])
        #expect(core.pendingRevocation(of: app)?.remaining == 2)
        #expect(throws: MemoryError.notOwner(frame: 5, principal: .app(app))) {
            try core.giveBack([1, 5], from: app)
        }
        #expect(core.frames(ownedBy: .app(app)) == [0, 1, 2, 3])
        try core.giveBack([1], from: app)
        #expect(core.pendingRevocation(of: app)?.remaining == 1)
        try core.giveBack([3], from: app)
        #expect(core.pendingRevocation(of: app) == nil)
        #expect(core.expireDeadlines(now: 20).isEmpty)
        #expect(core.repossessionVector(of: app).isEmpty)
        #expect(core.frames(ownedBy: .app(app)) == [0, 2])
        #expect(throws: MemoryError.noPendingRevocation(app)) { try core.giveBack([0], from: app) }
    }

    @Test func anAppThatDoesNotComplyIsRepossessedByForce() throws {
        let core = try MemoryCore(frames: 8)
        let app = try core.registerApp(guaranteedFrames: 2)
        let reader = try core.registerApp()
        let worker = try core.registerWorker()
        var grants: [FrameGrant] = []
        for _ in 0..<6 { grants.append(try core.allocate(for: .app(app))) }
        // Frames 0 and 5 are bound (5 shared with the reader too); the rest idle.
        try core.bind(app, page: 0, to: 0, rights: [.read, .write], using: grants[0].capability)
        try core.bind(app, page: 5, to: 5, rights: [.read, .write], using: grants[5].capability)
        let shared = try core.share(grants[5].capability, with: reader, by: .app(app))
        try core.bind(reader, page: 1, to: 5, rights: .read, using: shared)
        core.withCriticalSection(worker) { access in
            #expect(access.store(0xAB, to: app, page: 5, offset: 0))
            #expect(access.load(from: reader, page: 1, offset: 0) == 0xAB)
        }
        try core.queueWrite([7], to: app, page: 5, offset: 8)
        try core.requestRevocation(from: app, count: 5, deadline: 100)
        try core.giveBack([2], from: app)  // partial compliance
        #expect(core.expireDeadlines(now: 99).isEmpty)
        let taken = core.expireDeadlines(now: 100)
        // Owes 4, may lose only 5 - 2 = 3: the unbound 4, 3, 1 go first, highest first... which
        // leaves the bound 0 and 5.
        #expect(taken == [app: [1, 3, 4]])
        #expect(core.frames(ownedBy: .app(app)) == [0, 5])
        #expect(core.pendingRevocation(of: app) == nil)
        #expect(core.repossessionVector(of: app).map(\.frame) == [1, 3, 4])
        #expect(
            core.takeNotifications(of: app) == [
                .revocationRequested(count: 5, deadline: 100),
                .repossessed(frames: [1, 3, 4], time: 100, cancelledWrites: 0),
            ])
        // A second round takes bound frames, breaking every binding and cancelling queued writes.
        try core.requestRevocation(from: app, count: 1, deadline: 200)
        try core.free(0, by: .app(app))  // below the minimum now: nothing can be taken
        #expect(core.expireDeadlines(now: 200) == [app: []])
        // Back at the minimum of two: nothing is taken.
        _ = try core.allocate(for: .app(app), frame: 6)
        try core.requestRevocation(from: app, count: 1, deadline: 300)
        #expect(core.expireDeadlines(now: 300) == [app: []])
        #expect(core.frames(ownedBy: .app(app)) == [5, 6])
        // One over: the unbound 6 goes before the bound 5 and 7, though 7 is higher.
        let seventh = try core.allocate(for: .app(app), frame: 7)
        try core.bind(app, page: 7, to: 7, rights: .read, using: seventh.capability)
        try core.requestRevocation(from: app, count: 3, deadline: 400)
        #expect(core.expireDeadlines(now: 400) == [app: [6]])
        #expect(core.frames(ownedBy: .app(app)) == [5, 7])
        // The shared binding of the guaranteed frame 5 survived every round.
        core.withCriticalSection(worker) { access in
            #expect(access.load(from: reader, page: 1, offset: 0) == 0xAB)
        }
        #expect(core.repossessionVector(of: app).map(\.frame) == [1, 3, 4, 6])
        #expect(core.repossessionVector(of: app).map(\.time) == [100, 100, 100, 400])
        #expect(try core.arena.contents(of: 6).allSatisfy { $0 == 0 })
    }

    @Test func repossessionCancelsQueuedWritesAndBreaksSharedBindings() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let reader = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 3, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let shared = try core.share(grant.capability, with: reader, by: .app(app))
        try core.bind(reader, page: 4, to: grant.frame, rights: .read, using: shared)
        core.withCriticalSection(worker) { access in
            #expect(access.store(0x55, to: app, page: 3, offset: 0))
            _ = access.translate(reader, page: 4, for: .read)
        }
        try core.queueWrite([1, 2], to: app, page: 3, offset: 16)
        try core.queueWrite([3], to: app, page: 3, offset: 32)
        try core.requestRevocation(from: app, count: 1, deadline: 5)
        #expect(core.expireDeadlines(now: 7) == [app: [grant.frame]])
        #expect(core.cancelledWrites(of: app) == 2)
        #expect(
            core.takeNotifications(of: app).last == .repossessed(frames: [0], time: 7, cancelledWrites: 2))
        #expect(core.repossessionVector(of: app) == [Repossession(frame: 0, time: 7, pages: [3])])
        #expect(core.pageTable(of: app).mappings.isEmpty)
        #expect(core.pageTable(of: reader).mappings.isEmpty)
        #expect(core.tlbEntries(of: reader).isEmpty)
        #expect(!core.check(shared, rights: .read, by: .app(reader)))
        #expect(core.deliverQueuedWrites(using: worker).delivered == 0)
        #expect(try core.arena.contents(of: 0).allSatisfy { $0 == 0 })
        #expect(try core.owner(of: 0) == nil)
    }

    @Test func dumpMatchesGolden() throws {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 12, maxApps: 3, pagesPerApp: 16, maxWorkers: 2))
        let web = try core.registerApp(guaranteedFrames: 1)
        let dns = try core.registerApp(guaranteedFrames: 1)
        let worker = try core.registerWorker()
        _ = try core.allocate(for: .kernel)
        var webFrames: [FrameGrant] = []
        for _ in 0..<4 { webFrames.append(try core.allocate(for: .app(web))) }
        let dnsFrame = try core.allocate(for: .app(dns), frame: 9)
        _ = try core.allocate(for: .app(dns), frame: 10)
        try core.bind(
            web, page: 0, to: webFrames[0].frame, rights: [.read, .write], using: webFrames[0].capability)
        try core.bind(web, page: 1, to: webFrames[1].frame, rights: .read, using: webFrames[1].capability)
        let shared = try core.share(webFrames[0].capability, with: dns, by: .app(web))
        try core.bind(dns, page: 7, to: webFrames[0].frame, rights: .read, using: shared)
        try core.bind(dns, page: 0, to: dnsFrame.frame, rights: [.read, .write], using: dnsFrame.capability)
        _ = try core.mint(.filterGuard(id: 3), rights: [.grant, .revoke], for: .app(dns), by: .kernel)
        core.withCriticalSection(worker) { access in
            for _ in 0..<3 { _ = access.translate(web, page: 0, for: .write) }
            _ = access.translate(dns, page: 7, for: .read)
        }
        try core.queueWrite([1], to: web, page: 0, offset: 0)
        try core.requestRevocation(from: web, count: 2, deadline: 50)
        try core.requestRevocation(from: dns, count: 2, deadline: 10)
        core.expireDeadlines(now: 10)
        try Fixtures.expectGolden(core.dump(), at: "Tests/DPFMemoryTests/Golden/core.dump")
    }
}
