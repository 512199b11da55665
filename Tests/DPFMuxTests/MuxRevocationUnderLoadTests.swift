import DPFFilter
import DPFMemory
import DPFMux
import DPFTestSupport
import DPFTrie
import DPFWire
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Revocation under load: while two workers demultiplex a stream of packets, a control thread
/// installs and removes filters and takes ring frames from an app (it frees them, the core
/// repossesses them at a deadline, or it unbinds them), and a consumer thread drains the rings.
/// Every packet found in a ring was one its app's filter accepted, a frame that changes hands
/// arrives clean and stays clean, and the counters balance. Run under ThreadSanitizer with
/// `swift test --sanitize=thread --filter DPFMuxTests`.
@Suite struct MuxRevocationUnderLoadTests {
    static let expressions: [(text: String, isTap: Bool)] = [
        ("tcp", false), ("udp", false), ("tcp.dport == 80", false), ("udp.dport == 53", false),
        ("ip4.src == 10.0.0.1", true), ("ip6", false), ("vlan", false), ("arp", false),
        ("tcp.dport == 443", false), ("ip4", true), ("icmp4 or icmp6", false), ("tcp", true),
    ]
    static let slots = 64
    static let operations = 160

    struct Installed: Sendable {
        let app: String
        let tree: FilterTree
        let isTap: Bool
    }

    /// What the threads share.
    final class Shared: Sendable {
        /// The victim's memory and consumers: the control thread holds it while it changes the
        /// victim's ring frames, the consumer thread while it reads the victim's rings. (The app
        /// stops reading the memory it gives up.) Counts the changes, and keeps the consumer
        /// positions a rebuilt header starts from.
        let victim: Locked<(changes: Int, positions: [UInt64])>
        /// Every filter ever installed, by id.
        let installed = Locked<[UInt32: Installed]>([:])
        let drained = Locked<[DrainedPacket]>([])
        let failures = Locked<[String]>([])
        let runnerStarted = Atomic<Bool>(false)
        let runnerDone = Atomic<Bool>(false)
        let controlDone = Atomic<Bool>(false)
        let runs = Atomic<Int>(0)

        init(workers: Int) {
            victim = Locked((0, Array(repeating: 0, count: workers)))
        }

        func fail(_ message: String) { failures.withLock { $0.append(message) } }
    }

    @Test func ringsStayTrueWhileFramesAndFiltersChange() throws {
        let workers = 2
        let mux = try Multiplexer(
            MuxConfiguration(workers: workers, frames: 1_024, maxApps: 8, pagesPerApp: 256, batchSize: 32))
        let victim = try mux.registerApp(named: "victim")
        let steady = try mux.registerApp(named: "steady")
        let stranger = try mux.registerApp(named: "stranger")
        let ringPages = try RingLayout(slotCount: Self.slots).pages
        for app in [victim, steady] {
            try mux.createRings(for: app.id, presenting: app.binding, slots: Self.slots)
        }
        var random = RandomPackets(seed: 0x5EED_4E40)
        let packets = random.batch(2_000).map(\.bytes)
        let shared = Shared(workers: workers)

        let runner = TestThread {
            let source = InMemorySource(packets)
            var runs = 0
            shared.runnerStarted.store(true, ordering: .releasing)
            while runs < 3 || !shared.controlDone.load(ordering: .acquiring) {
                source.rewind()
                do {
                    let result = try mux.run(source)
                    if result.packets != packets.count || result.failure != nil {
                        shared.fail(
                            "run \(runs): \(result.packets) packets, \(String(describing: result.failure))")
                    }
                } catch {
                    shared.fail("run \(runs): \(error)")
                }
                runs += 1
            }
            shared.runs.store(runs, ordering: .releasing)
            shared.runnerDone.store(true, ordering: .releasing)
        }

        let consumer = TestThread {
            var steadyRings = Self.consumers(of: steady, in: mux, ringPages: ringPages, shared: shared)
            var victimRings: [RingConsumer?] = []
            var seen = -1
            var drained: [DrainedPacket] = []
            var idle = 0
            while true {
                let last = shared.runnerDone.load(ordering: .acquiring)
                var found = Self.sweep(&steadyRings, app: steady, into: &drained)
                shared.victim.withLock { victimState in
                    if victimState.changes != seen {
                        seen = victimState.changes
                        victimRings = Self.consumers(
                            of: victim, in: mux, ringPages: ringPages, shared: shared)
                    }
                    found = Self.sweep(&victimRings, app: victim, into: &drained) || found
                    for (index, ring) in victimRings.enumerated() {
                        if let ring { victimState.positions[index] = ring.position }
                    }
                }
                if last { break }
                idle = found ? 0 : idle + 1
                if idle > 16 { usleep(50) } else { sched_yield() }
            }
            shared.drained.withLock { $0 = drained }
        }

        let control = TestThread {
            Self.control(
                mux, victim: victim, steady: steady, stranger: stranger, ringPages: ringPages, shared: shared)
        }
        runner.join()
        control.join()
        consumer.join()

        let failures = shared.failures.withLock { $0 }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        let installed = shared.installed.withLock { $0 }
        var drained = shared.drained.withLock { $0 }
        // What is left in the rings once everything has stopped.
        for app in [victim, steady] {
            var rings = Self.consumers(of: app, in: mux, ringPages: ringPages, shared: shared)
            _ = Self.sweep(&rings, app: app, into: &drained)
        }
        #expect(installed.count > 20)

        // Every packet in a ring was accepted by a filter of its app: the one its tag names.
        let sent = Set(packets)
        var oracle = SingleFilterOracle()
        var checked: [UInt64: Set<[UInt8]>] = [:]
        for packet in drained {
            guard let filter = installed[UInt32(truncatingIfNeeded: packet.tag)], packet.tag <= UInt32.max
            else {
                Issue.record("\(packet.app) received a packet tagged \(packet.tag), no filter's id")
                continue
            }
            #expect(
                filter.app == packet.app,
                "tag \(packet.tag) is \(filter.app)'s, found in \(packet.app)'s ring")
            #expect(packet.wireLength == packet.bytes.count && sent.contains(packet.bytes))
            if checked[packet.tag, default: []].insert(packet.bytes).inserted {
                let id = FilterID(rawValue: UInt32(packet.tag))
                let accepted = oracle.accepts(filter.tree, id: id, isTap: filter.isTap, packet.bytes)
                #expect(
                    accepted, "filter \(packet.tag) of \(filter.app) does not accept a packet in its ring")
            }
        }

        // A frame that went to the stranger arrived zeroed (checked as it changed hands) and no
        // worker wrote into it since.
        let strangerFrames = mux.memory.frames(ownedBy: .app(stranger.id))
        #expect(strangerFrames.count > 5)
        let zeros = [UInt8](repeating: 0, count: RingLayout.pageSize)
        for frame in strangerFrames {
            #expect(try mux.memory.arena.contents(of: frame) == zeros, "frame \(frame)")
        }

        let statistics = mux.statistics()
        let runs = shared.runs.load(ordering: .acquiring)
        #expect(statistics.isBalanced)
        #expect(statistics.received == UInt64(runs * packets.count))
        func counters(_ app: MuxApp) -> DeliveryCounters {
            statistics.apps.first { $0.id == app.id }!.counters
        }
        // The steady app's memory never changed: it read every packet delivered to it.
        #expect(counters(steady).cancelled == 0)
        #expect(counters(steady).delivered == UInt64(drained.count { $0.app == steady.name }))
        #expect(counters(steady).delivered > 0)
        // The victim read no more than was delivered (slots on frames it lost are gone).
        #expect(counters(victim).delivered >= UInt64(drained.count { $0.app == victim.name }))
        #expect(drained.contains { $0.app == victim.name })
        #expect(shared.victim.withLock { $0.changes } > 10)
    }

    /// A consumer per ring of `app`, nil for a ring whose header cannot be read.
    static func consumers(of app: MuxApp, in mux: Multiplexer, ringPages: Int, shared: Shared)
        -> [RingConsumer?]
    {
        (0..<mux.configuration.workers).map { index in
            do {
                return try RingConsumer(core: mux.memory, app: app.id, firstPage: UInt32(index * ringPages))
            } catch {
                shared.fail("\(app.name) ring \(index): \(error)")
                return nil
            }
        }
    }

    /// Reads and releases every filled slot; true when it found any.
    static func sweep(_ rings: inout [RingConsumer?], app: MuxApp, into drained: inout [DrainedPacket])
        -> Bool
    {
        var found = false
        for index in rings.indices {
            while let got = rings[index]?.next() {
                drained.append(
                    DrainedPacket(
                        app: app.name, ring: index, tag: got.tag, bytes: Array(got.bytes),
                        wireLength: got.wireLength))
                rings[index]!.release()
                found = true
            }
        }
        return found
    }

    /// The control thread: installs and removes filters of the victim and the steady app, and
    /// takes ring frames from the victim, until it has done `operations` things.
    static func control(
        _ mux: Multiplexer, victim: MuxApp, steady: MuxApp, stranger: MuxApp, ringPages: Int, shared: Shared
    ) {
        while !shared.runnerStarted.load(ordering: .acquiring) { sched_yield() }
        var random = SeededGenerator(seed: 0xC0_47_801)
        var guards: [(id: FilterID, app: MuxApp, capability: CapabilityHandle)] = []
        var now: UInt64 = 0
        let zeros = [UInt8](repeating: 0, count: RingLayout.pageSize)
        for operation in 0..<Self.operations {
            usleep(200)
            do {
                switch operation % 4 {
                case 0, 1:
                    // Between three and six filters installed, most of the time.
                    if guards.count >= 6 || (guards.count >= 3 && random.chance(0.4)) {
                        let index = Int.random(in: 0..<guards.count, using: &random)
                        let filter = guards.remove(at: index)
                        try mux.remove(filter.id, by: filter.app.id, presenting: filter.capability)
                    } else {
                        let app = random.chance(0.5) ? victim : steady
                        let expression = random.pick(Self.expressions)
                        let tree = try RandomFilterSets.tree(expression.text)
                        var presented: [CapabilityHandle] = []
                        for other in guards where other.app.id != app.id {
                            presented.append(try mux.grant(other.capability, to: app.id, by: other.app.id))
                        }
                        // Priorities all differ: no two filters ever tie.
                        let filter = try mux.install(
                            FilterRequest(
                                name: "f\(operation)", tree: tree, priority: 1 + operation,
                                isTap: expression.isTap),
                            for: app.id, presenting: app.binding, guards: presented)
                        shared.installed.withLock {
                            $0[filter.id.rawValue] = Installed(
                                app: app.name, tree: tree, isTap: expression.isTap)
                        }
                        guards.append((filter.id, app, filter.guardCapability))
                    }
                default:
                    try shared.victim.withLock { (state: inout (changes: Int, positions: [UInt64])) throws in
                        try takeFrame(
                            from: victim, kind: operation / 4 % 3, in: mux, stranger: stranger,
                            ringPages: ringPages,
                            positions: state.positions, now: &now, random: &random, zeros: zeros,
                            shared: shared)
                        state.changes += 1
                    }
                }
            } catch {
                shared.fail("operation \(operation): \(error)")
            }
        }
        shared.controlDone.store(true, ordering: .releasing)
    }

    /// Takes one ring frame from the victim: `kind` 0 frees it, 1 has the core repossess it at a
    /// deadline (both hand it to the stranger, checked clean), 2 unbinds its page for a while
    /// (nothing may write it meanwhile) and binds it back. The victim then binds a fresh frame
    /// where it lost one (and writes a new header if it lost its header).
    static func takeFrame(
        from victim: MuxApp, kind: Int, in mux: Multiplexer, stranger: MuxApp, ringPages: Int,
        positions: [UInt64], now: inout UInt64, random: inout SeededGenerator, zeros: [UInt8], shared: Shared
    ) throws {
        let memory = mux.memory
        let mappings = memory.pageTable(of: victim.id).mappings
        let lost: Mapping
        switch kind {
        case 0:
            lost = random.pick(mappings)
            try memory.free(lost.frame, by: .app(victim.id))
        case 1:
            now += 1
            try memory.requestRevocation(from: victim.id, count: 1, deadline: now)
            let taken = memory.expireDeadlines(now: now)[victim.id] ?? []
            guard taken.count == 1, let mapping = mappings.first(where: { $0.frame == taken[0] }) else {
                shared.fail("repossession took \(taken)")
                return
            }
            lost = mapping
        default:
            let unbound = random.pick(mappings)
            try memory.unbind(victim.id, page: unbound.page)
            memory.synchronizeWorkers()
            let before = try memory.arena.contents(of: unbound.frame)
            usleep(300)
            if try memory.arena.contents(of: unbound.frame) != before {
                shared.fail("frame \(unbound.frame) was written while unbound")
            }
            let capability = memory.capabilities(heldBy: .app(victim.id)).first {
                $0.resource == .frames(unbound.frame..<unbound.frame + 1) && $0.rights.contains(.write)
            }
            guard let capability else {
                shared.fail("the victim holds no capability over frame \(unbound.frame)")
                return
            }
            try memory.bind(
                victim.id, page: unbound.page, to: unbound.frame, rights: [.read, .write],
                using: capability.handle)
            return
        }
        // The frame changes hands: the stranger finds it zeroed.
        _ = try memory.allocate(for: .app(stranger.id), frame: lost.frame)
        if try memory.arena.contents(of: lost.frame) != zeros {
            shared.fail("frame \(lost.frame) reached the stranger dirty")
        }
        let fresh = try memory.allocate(for: .app(victim.id))
        let ring = Int(lost.page) / ringPages
        if Int(lost.page) % ringPages == 0 {
            // The header went: the app writes a new one, resuming where its consumer was.
            let header = try memory.arena.address(ofFrame: fresh.frame)
            try RingLayout(slotCount: Self.slots).writeHeader(at: header)
            header.storeBytes(of: positions[ring], toByteOffset: RingLayout.consumerOffset, as: UInt64.self)
        }
        try memory.bind(
            victim.id, page: lost.page, to: fresh.frame, rights: [.read, .write], using: fresh.capability)
    }
}
