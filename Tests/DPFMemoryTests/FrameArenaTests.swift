import DPFMemory
import Testing

@Suite struct FrameArenaTests {
    @Test(arguments: [
        MemoryCore.Configuration(frames: 0), MemoryCore.Configuration(frames: -1),
        MemoryCore.Configuration(frames: Int.max),
        MemoryCore.Configuration(frames: FrameArena.maximumFrames + 1),
        MemoryCore.Configuration(frames: 4, maxApps: 0),
        MemoryCore.Configuration(frames: 4, maxApps: Int.max),
        MemoryCore.Configuration(frames: 4, pagesPerApp: -5),
        MemoryCore.Configuration(frames: 4, maxApps: 4096, pagesPerApp: 1 << 20),
        MemoryCore.Configuration(frames: 4, maxWorkers: 0),
        MemoryCore.Configuration(frames: 4, maxWorkers: 1 << 40),
    ])
    func configurationsOutsideTheLimitsAreRefused(_ configuration: MemoryCore.Configuration) {
        #expect {
            _ = try MemoryCore(configuration)
        } throws: { error in
            guard case .invalidConfiguration(let message) = error as? MemoryError else { return false }
            return !message.isEmpty
        }
    }

    @Test func contentsOfAFramePastTheArenaIsAnError() throws {
        let core = try MemoryCore(frames: 2)
        #expect(throws: MemoryError.frameOutOfRange(2)) { try core.arena.contents(of: 2) }
    }

    @Test func allocatesSpecificOrLowestFreeFrames() throws {
        let core = try MemoryCore(frames: 8)
        let app = try core.registerApp()
        let specific = try core.allocate(for: .app(app), frame: 5)
        #expect(specific.frame == 5)
        #expect(try core.allocate(for: .app(app)).frame == 0)
        #expect(try core.allocate(for: .kernel).frame == 1)
        #expect(try core.owner(of: 5) == .app(app))
        #expect(try core.owner(of: 1) == .kernel)
        #expect(try core.owner(of: 2) == nil)
        #expect(core.frames(ownedBy: .app(app)) == [0, 5])
        #expect(core.freeFrameCount == 5)
    }

    @Test func refusesBadRequestsWithoutTrapping() throws {
        let core = try MemoryCore(frames: 2)
        let app = try core.registerApp()
        let other = try core.registerApp()
        #expect(throws: MemoryError.frameOutOfRange(2)) { try core.allocate(for: .app(app), frame: 2) }
        #expect(throws: MemoryError.frameOutOfRange(UInt32.max)) { try core.free(UInt32.max, by: .app(app)) }
        _ = try core.allocate(for: .app(app), frame: 0)
        #expect(throws: MemoryError.frameInUse(0)) { try core.allocate(for: .app(other), frame: 0) }
        #expect(throws: MemoryError.notOwner(frame: 0, principal: .app(other))) {
            try core.free(0, by: .app(other))
        }
        try core.free(0, by: .app(app))
        #expect(throws: MemoryError.notOwner(frame: 0, principal: .app(app))) {
            try core.free(0, by: .app(app))
        }
        _ = try core.allocate(for: .app(app))
        _ = try core.allocate(for: .app(app))
        #expect(throws: MemoryError.noFreeFrames) { try core.allocate(for: .app(app)) }
        #expect(throws: MemoryError.unknownApp(AppID(9))) { try core.allocate(for: .app(AppID(9))) }
    }

    @Test func guaranteesMayNotExceedTheArena() throws {
        let core = try MemoryCore(frames: 4)
        _ = try core.registerApp(guaranteedFrames: 3)
        #expect(throws: MemoryError.guaranteeExceedsArena(requested: 5, available: 4)) {
            try core.registerApp(guaranteedFrames: 2)
        }
        _ = try core.registerApp(guaranteedFrames: 1)
    }

    @Test func freeingZeroesTheFrameBeforeReuse() throws {
        let core = try MemoryCore(frames: 1)
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 3, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let wrote = core.withCriticalSection(worker) { access in
            access.store(0xDEAD_BEEF, to: app, page: 3, offset: 4088)
        }
        #expect(wrote)
        #expect(try core.arena.contents(of: 0)[4088] == 0xEF)
        try core.free(0, by: .app(app))
        #expect(try core.arena.contents(of: 0).allSatisfy { $0 == 0 })
        let other = try core.registerApp()
        #expect(try core.allocate(for: .app(other)).frame == 0)
        #expect(try core.arena.contents(of: 0).allSatisfy { $0 == 0 })
    }

    @Test func framesLiveInAMemoryFile() throws {
        let core = try MemoryCore(frames: 3)
        #expect(core.arena.fileDescriptor >= 0)
        #expect(core.arena.offset(of: 2) == 8192)
        #expect(core.arena.frameCount == 3)
    }

    /// Long runs of frames are zeroed by punching a hole in the memory file: they read as zeros
    /// through the mapping and take writes again afterwards.
    @Test func longRunsAreZeroedThroughTheMemoryFile() throws {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 48, maxApps: 2, pagesPerApp: 48, maxWorkers: 1))
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        var grants: [FrameGrant] = []
        for page in 0..<UInt32(40) {
            let grant = try core.allocate(for: .app(app))
            try core.bind(app, page: page, to: grant.frame, rights: [.read, .write], using: grant.capability)
            grants.append(grant)
        }
        core.withCriticalSection(worker) { access in
            for page in 0..<UInt32(40) {
                #expect(access.store(UInt64(page) + 1, to: app, page: page, offset: 4088))
            }
        }
        try core.requestRevocation(from: app, count: 40, deadline: 0)
        // Two runs: 0-3 by hand below the threshold, the rest through the file.
        try core.giveBack([0, 1, 2, 3], from: app)
        #expect(core.expireDeadlines(now: 0)[app]?.count == 36)
        for frame in 0..<UInt32(40) {
            #expect(try core.arena.contents(of: frame).allSatisfy { $0 == 0 }, "frame \(frame)")
        }
        let again = try core.allocate(for: .app(app), frame: 20)
        try core.bind(app, page: 0, to: 20, rights: [.read, .write], using: again.capability)
        let read = core.withCriticalSection(worker) { access -> UInt64? in
            _ = access.store(77, to: app, page: 0, offset: 0)
            return access.load(from: app, page: 0, offset: 0)
        }
        #expect(read == 77)
    }
}
