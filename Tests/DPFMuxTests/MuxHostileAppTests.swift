import DPFMemory
import DPFMux
import DPFTestSupport
import DPFWire
import Testing

/// Hostile apps at the multiplexer level: one scribbles over its own ring header and owner words,
/// one releases slots twice, one never consumes. Each hurts only itself: every other app receives
/// exactly what the reference evaluator gives it, ring by ring, and the counters balance.
@Suite struct MuxHostileAppTests {
    static let filters: [(name: String, app: String, expression: String, priority: Int, isTap: Bool)] = [
        ("web", "web", "tcp.dport == 80", 0, false),
        ("tls", "web", "tcp.dport == 443", 0, false),
        ("dns", "dns", "udp.dport == 53", 0, false),
        ("watch", "monitor", "ip4.src == 10.0.0.1", 0, true),
        ("ssh", "scribbler", "tcp.dport == 22", 0, false),
        ("all-tcp", "scribbler", "tcp", 0, true),
        ("udp", "doubler", "udp", 0, false),
        ("vlan", "sleeper", "vlan", 2, false),
        ("v6", "sleeper", "ip6", 1, false),
        ("copy-ip4", "sleeper", "ip4", 0, true),
    ]
    static let wellBehaved = ["dns", "monitor", "web"]
    static let rounds = 4
    static let perRound = 250
    static let sleeperSlots = 8
    static let doublerSlots = 16

    /// The words the scribbler writes over its header and slots, round by round.
    /// Bytes packet `index` had on the wire beyond those captured.
    static func wireLength(_ index: Int) -> Int { index % 3 * 7 }

    static let garbage: [UInt64] = [0xDEAD_BEEF_0BAD_F00D, .max, 2, 0x5246_5044]

    @Test(arguments: [1, 2])
    func hostileAppsHurtOnlyThemselves(workers: Int) throws {
        let harness = try MuxHarness(workers: workers, batchSize: 32)
        try harness.app("sleeper", slots: Self.sleeperSlots)
        try harness.app("doubler", slots: Self.doublerSlots)
        for filter in Self.filters {
            #expect(
                try harness.install(
                    filter.name, app: filter.app, filter.expression, priority: filter.priority,
                    isTap: filter.isTap) != nil, "\(filter.name) refused")
        }
        let mux = harness.mux
        var random = RandomPackets(seed: 0x4057_11E + UInt64(workers))
        let packets = random.batch(Self.rounds * Self.perRound).map(\.bytes)
        let expected = harness.expected(packets)
        let hasher = FlowHasher(linkType: .ethernet)
        func ring(of bytes: [UInt8]) -> Int {
            bytes.withUnsafeBytes { hasher.worker(for: hasher.hash($0), of: workers) }
        }

        var consumers: [String: [RingConsumer]] = [:]
        for name in Self.wellBehaved + ["doubler"] {
            let app = harness.apps[name]!
            consumers[name] = try harness.ringFirstPages(app).map {
                try RingConsumer(core: mux.memory, app: app.id, firstPage: $0)
            }
        }
        var received: [String: [[(tag: UInt64, bytes: [UInt8], wire: Int)]]] = [:]
        for name in Self.wellBehaved { received[name] = Array(repeating: [], count: workers) }
        var doublerRead: [(tag: UInt64, bytes: [UInt8])] = []
        /// By doubler ring: the slots it released in the previous round.
        var releasedBefore = Array(repeating: [Int](), count: workers)
        let scribbler = harness.apps["scribbler"]!
        let scribblerFrames = mux.memory.pageTable(of: scribbler.id).mappings.map(\.frame)
        // Page to frame, read once: no ring frame changes hands in this test.
        func frames(of app: MuxApp) -> [UInt32: UInt32] {
            Dictionary(
                uniqueKeysWithValues: mux.memory.pageTable(of: app.id).mappings.map { ($0.page, $0.frame) })
        }
        let scribblerPages = try harness.ringFirstPages(scribbler)
        let doubler = harness.apps["doubler"]!
        let doublerPages = try harness.ringFirstPages(doubler)
        let scribblerTable = frames(of: scribbler)
        let doublerTable = frames(of: doubler)

        for round in 0..<Self.rounds {
            let slice = Array(packets[(round * Self.perRound)..<((round + 1) * Self.perRound)])
            // Some packets were longer on the wire than captured.
            let wire = (round * Self.perRound..<(round + 1) * Self.perRound).map(Self.wireLength)
            let result = try mux.run(
                InMemorySource(slice, wireLengths: zip(slice, wire).map { $0.count + $1 }))
            #expect(result.packets == slice.count && result.failure == nil)

            // The well-behaved apps read everything.
            for name in Self.wellBehaved {
                for index in 0..<workers {
                    while let got = consumers[name]![index].next() {
                        received[name]![index].append((got.tag, Array(got.bytes), got.wireLength))
                        consumers[name]![index].release()
                    }
                }
            }

            // The doubler reads half of what it has, releases each slot, writes "released" over
            // it again at once, and again a round later, when the multiplexer may have refilled
            // the slot with a packet it has not read.
            for index in 0..<workers {
                let layout = consumers["doubler"]![index].layout
                let ringPage = doublerPages[index]
                func ownerWord(_ slot: Int) throws -> UnsafeMutableRawPointer {
                    let page = ringPage + 1 + UInt32(layout.slotPage(ofSlot: slot))
                    let frame = try #require(doublerTable[page])
                    return try mux.memory.arena.address(ofFrame: frame) + layout.offsetInPage(ofSlot: slot)
                        + RingLayout.ownerOffset
                }
                var available = 0
                let start = consumers["doubler"]![index].position
                while available < layout.slotCount,
                    try ownerWord(Int((start + UInt64(available)) % UInt64(layout.slotCount))).load(
                        as: UInt64.self) == RingLayout.filled
                {
                    available += 1
                }
                var released: [Int] = []
                for _ in 0..<((available + 1) / 2) {
                    let slot = Int(consumers["doubler"]![index].position % UInt64(layout.slotCount))
                    let got = try #require(consumers["doubler"]![index].next())
                    doublerRead.append((got.tag, Array(got.bytes)))
                    let releasedOnce = consumers["doubler"]![index].release()
                    #expect(releasedOnce)
                    try ownerWord(slot).storeBytes(of: RingLayout.released, as: UInt64.self)
                    released.append(slot)
                }
                for slot in releasedBefore[index] {
                    try ownerWord(slot).storeBytes(of: RingLayout.released, as: UInt64.self)
                }
                releasedBefore[index] = released
            }

            // The scribbler overwrites its header and every owner word: some slots look released,
            // some filled, some hold garbage.
            let word = Self.garbage[round % Self.garbage.count]
            for (index, firstPage) in scribblerPages.enumerated() {
                let header = try mux.memory.arena.address(
                    ofFrame: try #require(scribblerTable[firstPage])
                )
                for offset in stride(from: 0, to: RingLayout.pageSize, by: 8) {
                    header.storeBytes(of: word &+ UInt64(offset), toByteOffset: offset, as: UInt64.self)
                }
                let layout = try RingLayout(slotCount: 512)
                for slot in 0..<layout.slotCount {
                    let page = firstPage + 1 + UInt32(layout.slotPage(ofSlot: slot))
                    let frame = try #require(scribblerTable[page])
                    let owner: UInt64 =
                        switch (slot + round + index) % 3 {
                        case 0: RingLayout.released
                        case 1: RingLayout.filled
                        default: word
                        }
                    try mux.memory.arena.address(ofFrame: frame).storeBytes(
                        of: owner, toByteOffset: layout.offsetInPage(ofSlot: slot) + RingLayout.ownerOffset,
                        as: UInt64.self)
                }
            }
        }
        // The scribbler's frames are still its own.
        #expect(mux.memory.pageTable(of: scribbler.id).mappings.map(\.frame) == scribblerFrames)

        // Every well-behaved ring holds exactly its share of the app's packets, in order.
        let ids = harness.filterIDs
        for name in Self.wellBehaved {
            let tags = Set(Self.filters.filter { $0.app == name }.map { UInt64(ids[$0.name]!.rawValue) })
            for index in 0..<workers {
                let wanted = packets.indices.filter { packet in
                    (expected[packet].owner == name || expected[packet].taps.contains(name))
                        && ring(of: packets[packet]) == index
                }
                let got = received[name]![index]
                #expect(got.map(\.bytes) == wanted.map { packets[$0] }, "\(name), ring \(index)")
                #expect(
                    got.map(\.wire) == wanted.map { packets[$0].count + Self.wireLength($0) },
                    "\(name), ring \(index)")
                #expect(got.allSatisfy { tags.contains($0.tag) }, "\(name), ring \(index)")
            }
        }
        // Whatever the doubler did read is a packet of its own, whole.
        let doublerPackets = Set(
            zip(packets, expected).filter { $1.owner == "doubler" || $1.taps.contains("doubler") }.map(\.0))
        #expect(!doublerRead.isEmpty)
        for got in doublerRead {
            #expect(doublerPackets.contains(got.bytes) && got.tag == UInt64(ids["udp"]!.rawValue))
        }

        let statistics = mux.statistics()
        #expect(statistics.isBalanced)
        #expect(statistics.received == UInt64(packets.count))
        #expect(
            statistics.delivered + statistics.dropped + statistics.cancelled
                == UInt64(expected.count { $0.owner != nil }))
        for app in statistics.apps {
            let offers = expected.count { $0.owner == app.name || $0.taps.contains(app.name) }
            #expect(app.counters.offered == UInt64(offers), "\(app.name)")
            #expect(app.counters.cancelled == 0, "\(app.name)")
            if Self.wellBehaved.contains(app.name) {
                #expect(app.counters.delivered == UInt64(offers) && app.counters.dropped == 0, "\(app.name)")
                // Bytes are captured bytes, not bytes on the wire.
                let captured = received[app.name]!.joined().map(\.bytes.count).reduce(0, +)
                #expect(app.counters.bytes == UInt64(captured), "\(app.name)")
            }
        }
        func counters(_ name: String) -> DeliveryCounters {
            statistics.apps.first { $0.name == name }!.counters
        }
        // The sleeper's rings took their first slots' worth each, and dropped the rest.
        let sleeperOffers = (0..<workers).map { index in
            zip(packets, expected).count { packet, verdict in
                (verdict.owner == "sleeper" || verdict.taps.contains("sleeper")) && ring(of: packet) == index
            }
        }
        #expect(
            counters("sleeper").delivered
                == UInt64(sleeperOffers.map { min($0, Self.sleeperSlots) }.reduce(0, +)))
        #expect(counters("sleeper").dropped > 0)
        #expect(counters("scribbler").delivered > 0 && counters("scribbler").dropped > 0)
        #expect(counters("doubler").delivered > 0)
    }
}
