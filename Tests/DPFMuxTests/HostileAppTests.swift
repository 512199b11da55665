import DPFMemory
import DPFMux
import DPFTestSupport
import Testing

/// An app may write anything into its own ring. The writer must never trap, never write outside
/// the ring's frames, keep other apps' rings whole, and keep its counters balanced.
@Suite struct HostileAppTests {
    /// Frames outside `rings` are byte-for-byte as in `before`.
    func expectUntouched(_ before: [[UInt8]], except rings: [ReceiveRing], in fixture: Fixture) throws {
        let ringFrames = Set(rings.flatMap(\.frames))
        let after = try fixture.snapshot()
        for frame in before.indices where !ringFrames.contains(UInt32(frame)) {
            #expect(after[frame] == before[frame], "frame \(frame) was written")
        }
    }

    func expectBalanced(_ counters: RingCounters) {
        #expect(counters.offered == counters.delivered + counters.dropped + counters.cancelled)
    }

    @Test func scribbledHeaderHurtsOnlyItsApp() throws {
        let fixture = try Fixture()
        let hostile = try fixture.core.registerApp()
        let bystander = try fixture.core.registerApp()
        let ring = try ReceiveRing.create(in: fixture.core, for: hostile, firstPage: 0, pages: 3)
        let other = try ReceiveRing.create(in: fixture.core, for: bystander, firstPage: 0, pages: 3)
        var writer = RingWriter(ring)
        var otherWriter = RingWriter(other)
        var otherConsumer = try RingConsumer(core: fixture.core, ring: other)
        let before = try fixture.snapshot()

        // Magic, version, slot count and size, first-slot offset, both positions: garbage.
        for offset in [0, 8, 16, 24, 64, 128, 4_088] {
            try fixture.scribble(0xDEAD_BEEF_FFFF_FFFF &- UInt64(offset), at: offset, in: ring)
        }
        for tag in 0..<6 {
            let outcome = fixture.deliver(
                packet(tag, count: 200), timestamp: 5, tag: UInt64(tag), with: &writer)
            #expect(outcome == (tag < 4 ? .delivered : .dropped))
            #expect(
                fixture.deliver(packet(tag, count: 100), timestamp: 6, tag: UInt64(tag), with: &otherWriter)
                    == .delivered)
            let got = try #require(otherConsumer.next())
            #expect(Array(got.bytes) == packet(tag, count: 100) && got.tag == UInt64(tag))
            otherConsumer.release()
        }
        // The packets went where the writer's own layout says, whatever the header claims.
        for slot in 0..<4 {
            let offset = ring.layout.offset(ofSlot: slot)
            #expect(try fixture.word(at: offset + RingLayout.ownerOffset, in: ring) == RingLayout.filled)
            #expect(try fixture.word(at: offset + RingLayout.tagOffset, in: ring) == UInt64(slot))
        }
        #expect(try fixture.word(at: RingLayout.producerOffset, in: ring) == 4)
        #expect(writer.counters.delivered == 4 && writer.counters.dropped == 2)
        expectBalanced(writer.counters)
        try expectUntouched(before, except: [ring, other], in: fixture)

        // The app's own consumer refuses the broken header, with a typed error.
        #expect(throws: RingError.badMagic(0xFFFF_FFFF)) { try RingConsumer(core: fixture.core, ring: ring) }
        try fixture.scribble(UInt64(RingLayout.version) << 32 | UInt64(RingLayout.magic), at: 0, in: ring)
        #expect(throws: RingError.self) { try RingConsumer(core: fixture.core, ring: ring) }
        // A valid geometry that needs more pages than are bound: the first unbound page is named.
        try fixture.scribble(2_048 << 32 | 8, at: 8, in: ring)
        try fixture.scribble(4_096, at: 16, in: ring)
        #expect(throws: RingError.pageNotBound(3)) { try RingConsumer(core: fixture.core, ring: ring) }
    }

    @Test func flippedAndDoublyReleasedOwnerWords() throws {
        let fixture = try Fixture()
        let ring = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 4, pages: 3)
        var writer = RingWriter(ring)
        var consumer = try RingConsumer(core: fixture.core, ring: ring)
        func owner(_ slot: Int) -> Int { ring.layout.offset(ofSlot: slot) + RingLayout.ownerOffset }
        func offer(_ tag: Int) -> DeliveryOutcome {
            fixture.deliver(packet(tag, count: 80), timestamp: UInt64(tag), tag: UInt64(tag), with: &writer)
        }

        // A garbage owner word is not "released": the writer waits there (counted as drops) and
        // neither skips the slot nor writes into it.
        try fixture.scribble(0xDEAD, at: owner(0), in: ring)
        #expect(offer(100) == .dropped)
        #expect(try fixture.word(at: owner(0) + 8, in: ring) == 0)
        try fixture.scribble(RingLayout.released, at: owner(0), in: ring)

        for tag in 0..<4 { #expect(offer(tag) == .delivered) }
        #expect(consumer.next()?.tag == 0)
        consumer.release()
        #expect(offer(4) == .delivered)  // into slot 0
        // The app releases slot 0 a second time, giving back packet 4 unread.
        try fixture.scribble(RingLayout.released, at: owner(0), in: ring)
        #expect(offer(5) == .dropped)  // slot 1 still holds packet 1
        var tags: [UInt64] = []
        while let got = consumer.next() {
            #expect(Array(got.bytes) == packet(Int(got.tag), count: 80))
            tags.append(got.tag)
            consumer.release()
        }
        #expect(tags == [1, 2, 3])  // and nothing at slot 0: packet 4 is lost to the app alone
        for tag in 6...9 { #expect(offer(tag) == .delivered) }  // slots 1, 2, 3, 0
        #expect(offer(10) == .dropped)
        tags = []
        while let got = consumer.next() {
            tags.append(got.tag)
            consumer.release()
        }
        #expect(tags == [9, 6, 7, 8])  // the app's own cursor, now behind the writer's
        #expect(writer.counters.offered == 12)
        #expect(writer.counters.delivered == 9 && writer.counters.dropped == 3)
        expectBalanced(writer.counters)
    }

    @Test func anAppThatStopsConsumingLosesOnlyItsOwnPackets() throws {
        let fixture = try Fixture()
        let idle = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 0, pages: 3)
        let busy = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 0, pages: 3)
        var idleWriter = RingWriter(idle)
        var busyWriter = RingWriter(busy)
        var busyConsumer = try RingConsumer(core: fixture.core, ring: busy)
        for tag in 0..<1_000 {
            _ = fixture.deliver(packet(tag, count: 64), timestamp: 0, tag: UInt64(tag), with: &idleWriter)
            #expect(
                fixture.deliver(packet(tag, count: 64), timestamp: 0, tag: UInt64(tag), with: &busyWriter)
                    == .delivered)
            #expect(busyConsumer.next()?.tag == UInt64(tag))
            busyConsumer.release()
        }
        #expect(idleWriter.counters.delivered == 4 && idleWriter.counters.dropped == 996)
        #expect(busyWriter.counters.delivered == 1_000 && busyWriter.counters.dropped == 0)
    }

    /// Random words anywhere in the hostile ring (header, owner words, lengths, bytes), random
    /// deliveries of random lengths, a consumer of its own that reads whatever it finds; next to
    /// it a well-behaved app. Nothing outside the two rings changes, the other app receives
    /// exactly what was sent, the counters balance.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomScribbles(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let fixture = try Fixture()
        let hostile = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 2, pages: 4, slotSize: 1_024)
        let other = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 2, pages: 4)
        var hostileWriter = RingWriter(hostile)
        var hostileConsumer = try RingConsumer(core: fixture.core, ring: hostile)
        var otherWriter = RingWriter(other)
        var otherConsumer = try RingConsumer(core: fixture.core, ring: other)
        let before = try fixture.snapshot()
        var sent = 0
        var received = 0
        for _ in 0..<5_000 {
            switch Int.random(in: 0..<8, using: &random) {
            case 0:
                let offset = Int.random(in: 0..<(hostile.layout.byteCount / 8), using: &random) * 8
                try fixture.scribble(random.next(), at: offset, in: hostile)
            case 1:
                let slot = Int.random(in: 0..<hostile.layout.slotCount, using: &random)
                try fixture.scribble(
                    random.pick([RingLayout.released, RingLayout.filled, random.next()]),
                    at: hostile.layout.offset(ofSlot: slot), in: hostile)
            case 2, 3:
                let length = Int.random(in: 0...3_000, using: &random)
                let outcome = fixture.deliver(
                    packet(sent, count: length), timestamp: 1, tag: 2, with: &hostileWriter)
                #expect(outcome != .cancelled)
            case 4:
                if let got = hostileConsumer.next() {
                    #expect(got.bytes.count <= hostile.layout.capacity)
                    _ = got.bytes.reduce(0, &+)
                }
                hostileConsumer.release()
            default:
                let length = Int.random(in: 0...1_514, using: &random)
                if fixture.deliver(
                    packet(sent, count: length), timestamp: UInt64(sent), tag: UInt64(length),
                    with: &otherWriter)
                    == .delivered
                {
                    sent += 1
                }
                while let got = otherConsumer.next() {
                    #expect(Array(got.bytes) == packet(received, count: Int(got.tag)))
                    #expect(got.timestamp == UInt64(received))
                    received += 1
                    otherConsumer.release()
                }
            }
        }
        #expect(received == sent && sent > 0)
        #expect(otherWriter.counters.dropped == 0 && otherWriter.counters.delivered == UInt64(sent))
        #expect(hostileWriter.counters.delivered > 0 && hostileWriter.counters.dropped > 0)
        #expect(hostileWriter.counters.cancelled == 0)
        expectBalanced(hostileWriter.counters)
        try expectUntouched(before, except: [hostile, other], in: fixture)
    }
}
