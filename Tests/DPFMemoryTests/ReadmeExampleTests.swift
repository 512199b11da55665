import DPFMemory
import Testing

/// The README's example, as written there, with what it claims checked.
@Suite struct ReadmeExampleTests {
    @Test func theExampleDoesWhatTheReadmeSays() throws {
        let core = try MemoryCore(frames: 256)
        let app = try core.registerApp(guaranteedFrames: 4)
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 0, to: grant.frame, rights: [.read, .write], using: grant.capability)
        let reader = try core.registerApp()
        let readOnly = try core.share(grant.capability, with: reader, by: .app(app))
        try core.bind(reader, page: 3, to: grant.frame, rights: .read, using: readOnly)
        let read = core.withCriticalSection(worker) { access -> UInt64? in
            _ = access.store(42, to: app, page: 0, offset: 0)
            return access.load(from: reader, page: 3, offset: 0)
        }
        #expect(read == 42)
        try core.revoke(readOnly, by: .app(app))
        #expect(core.pageTable(of: reader).mappings.isEmpty)
        try core.requestRevocation(from: app, count: 1, deadline: 10)
        // One frame, below the guarantee of 4: nothing is taken by force.
        #expect(core.expireDeadlines(now: 10) == [app: []])
        #expect(core.frames(ownedBy: .app(app)) == [grant.frame])
        #expect(core.dump().hasPrefix("memory core: 256 frames"))
    }
}
