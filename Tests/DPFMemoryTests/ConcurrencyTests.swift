import DPFMemory
import DPFTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// Workers translate and write through their apps' TLBs while a control thread binds, unbinds,
/// frees, revokes and repossesses. Every word a worker writes carries its app and the frame
/// generation its translation was made under; afterwards no frame may hold a word from a previous
/// owner, or from before it was last allocated (a write that landed after the frame changed
/// hands). Run under ThreadSanitizer with `swift test --sanitize=thread --filter DPFMemoryTests`.
@Suite struct ConcurrencyTests {
    final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
    }

    static let pages: UInt32 = 8

    @Test func noWriteLandsInAFrameThatChangedOwner() throws {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 24, maxApps: 3, pagesPerApp: Int(Self.pages), maxWorkers: 2))
        let writers = [try core.registerApp(guaranteedFrames: 1), try core.registerApp(guaranteedFrames: 1)]
        let reader = try core.registerApp()
        let workers = [try core.registerWorker(), try core.registerWorker()]
        let shared = Shared()
        let group = DispatchGroup()

        // Each worker writes only its own app's pages, so no two workers write one frame.
        for (app, worker) in zip(writers, workers) {
            spawn(group) {
                var round = 0
                // Translate every page first, then write a block into each translated frame: the
                // translations are used for the rest of the critical section, as ring deliveries
                // use them, and each copy is a window in which a frame could change hands under
                // a write that passed its check.
                var block = [UInt64](repeating: 0, count: 256)
                var translations: [Translation] = []
                translations.reserveCapacity(Int(Self.pages))
                while !shared.stop.load(ordering: .relaxed) {
                    round &+= 1
                    let count = core.withCriticalSection(worker) { access in
                        translations.removeAll(keepingCapacity: true)
                        for page in 0..<Self.pages {
                            if let translation = access.translate(app, page: page, for: .write) {
                                translations.append(translation)
                            }
                            _ = access.translate(reader, page: page, for: .read)
                        }
                        var written = 0
                        for translation in translations {
                            let word = UInt64(app.index + 1) << 56 | translation.generation
                            for index in block.indices { block[index] = word }
                            let offset = (round % 2) * 2048
                            if block.withUnsafeBytes({ access.write($0, into: translation, offset: offset) })
                            {
                                written += 1
                            }
                        }
                        return written
                    }
                    shared.writes.add(count, ordering: .relaxed)
                }
            }
        }

        // The control plane: random binds, unbinds, frees, shares, revocations and repossessions.
        var random = SeededGenerator(seed: 7)
        var allocatedAt: [UInt32: UInt64] = [:]
        var grants: [UInt32: FrameGrant] = [:]
        var repossessed = 0
        var now: UInt64 = 0
        for _ in 0..<3_000 {
            let app = random.pick(writers)
            switch Int.random(in: 0..<6, using: &random) {
            case 0, 1:
                guard let grant = try? core.allocate(for: .app(app)) else { continue }
                allocatedAt[grant.frame] = core.arena.generation(of: grant.frame)
                grants[grant.frame] = grant
                let page = UInt32.random(in: 0..<Self.pages, using: &random)
                _ = try? core.bind(
                    app, page: page, to: grant.frame, rights: [.read, .write], using: grant.capability)
                if random.chance(0.3),
                    let share = try? core.share(grant.capability, with: reader, by: .app(app))
                {
                    _ = try? core.bind(reader, page: page, to: grant.frame, rights: .read, using: share)
                }
            case 2:
                _ = try? core.unbind(app, page: UInt32.random(in: 0..<Self.pages, using: &random))
            case 3:
                let owned = core.frames(ownedBy: .app(app))
                if let frame = owned.randomElement(using: &random) { try core.free(frame, by: .app(app)) }
            case 4:
                let owned = core.frames(ownedBy: .app(app))
                if let frame = owned.randomElement(using: &random), let grant = grants[frame],
                    let child = try? core.derive(grant.capability, rights: [.read, .write], by: .app(app))
                {
                    let page = UInt32.random(in: 0..<Self.pages, using: &random)
                    _ = try? core.bind(app, page: page, to: frame, rights: .write, using: child)
                    try core.revoke(child, by: .app(app))
                }
            default:
                try core.requestRevocation(
                    from: app, count: Int.random(in: 1...4, using: &random), deadline: now)
                now += 1
                repossessed += core.expireDeadlines(now: now).values.reduce(0) { $0 + $1.count }
            }
        }
        shared.stop.store(true, ordering: .relaxed)
        group.wait()

        #expect(shared.writes.load(ordering: .relaxed) > 0)
        #expect(repossessed > 0)
        for frame in 0..<UInt32(24) {
            let owner = try core.owner(of: frame)
            let bytes = try core.arena.contents(of: frame)
            for offset in stride(from: 0, to: bytes.count, by: 8) {
                let word = bytes[offset..<offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard word != 0 else { continue }
                let writer = AppID(UInt32(word >> 56) - 1)
                let generation = word & 0x00FF_FFFF_FFFF_FFFF
                #expect(
                    owner == .app(writer),
                    "frame \(frame) owned by \(String(describing: owner)) holds \(writer)'s write")
                #expect(
                    generation >= allocatedAt[frame] ?? 0,
                    "frame \(frame) holds a write from generation \(generation), before it was allocated at \(allocatedAt[frame] ?? 0)"
                )
            }
        }
    }

    /// The epoch protocol, step by step: a worker inside its critical section holds a translation
    /// of a frame and has written through it; freeing the frame waits until the worker has left,
    /// so the write is zeroed with the frame, and a later write through the old translation is
    /// refused by the generation check.
    @Test func freeingWaitsForWorkersInsideTheirCriticalSections() throws {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 2, maxApps: 1, pagesPerApp: 1, maxWorkers: 1))
        let app = try core.registerApp()
        let worker = try core.registerWorker()
        let grant = try core.allocate(for: .app(app))
        try core.bind(app, page: 0, to: grant.frame, rights: .write, using: grant.capability)
        let entered = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let shared = Shared()
        spawn(group) {
            let outcome = core.withCriticalSection(worker) { access -> Int in
                guard let translation = access.translate(app, page: 0, for: .write) else { return 0 }
                let before = withUnsafeBytes(of: UInt64.max) {
                    access.write($0, into: translation, offset: 0)
                }
                entered.signal()
                proceed.wait()
                // The frame is being freed: its generation moved on, so the write path refuses.
                let after = withUnsafeBytes(of: UInt64.max) { access.write($0, into: translation, offset: 8) }
                return (before ? 1 : 0) + (after ? 2 : 0)
            }
            shared.writes.store(outcome, ordering: .sequentiallyConsistent)
        }
        entered.wait()
        spawn(group) {
            try? core.free(grant.frame, by: .app(app))
            shared.stop.store(true, ordering: .sequentiallyConsistent)
        }
        // The free is blocked for as long as the worker stays inside.
        usleep(100_000)
        let freedEarly = shared.stop.load(ordering: .sequentiallyConsistent)
        #expect(!freedEarly)
        proceed.signal()
        group.wait()
        let freed = shared.stop.load(ordering: .sequentiallyConsistent)
        let wrote = shared.writes.load(ordering: .sequentiallyConsistent)
        #expect(freed)
        #expect(wrote == 1)  // the first write landed, the second was refused
        #expect(try core.arena.contents(of: grant.frame).allSatisfy { $0 == 0 })
        #expect(try core.owner(of: grant.frame) == nil)
    }
}

/// Runs `body` on a thread of its own (not a dispatch pool's, which a blocked test could starve).
private func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    let thread = Thread {
        body()
        group.leave()
    }
    thread.start()
}
