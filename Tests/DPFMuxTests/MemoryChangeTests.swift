import DPFMemory
import DPFMux
import Testing

/// A ring's frames unbound, freed or repossessed while packets flow: deliveries into them are
/// cancelled and counted, and a frame that went to another app never receives a byte.
@Suite struct MemoryChangeTests {
    let zeros = [UInt8](repeating: 0, count: RingLayout.pageSize)

    /// A 4-slot ring (slots 0–1 on ring page 1, 2–3 on ring page 2) with packets 0 and 1 delivered.
    func ringWithTwoPackets(_ fixture: Fixture, guaranteedFrames: Int = 0) throws -> (ReceiveRing, RingWriter)
    {
        let app = try fixture.core.registerApp(guaranteedFrames: guaranteedFrames)
        let ring = try ReceiveRing.create(in: fixture.core, for: app, firstPage: 8, pages: 3)
        var writer = RingWriter(ring)
        for tag in 0..<2 {
            #expect(
                fixture.deliver(packet(tag, count: 300), timestamp: 0, tag: UInt64(tag), with: &writer)
                    == .delivered)
        }
        return (ring, writer)
    }

    @Test func unboundSlotPageCancelsUntilRebound() throws {
        let fixture = try Fixture()
        var (ring, writer) = try ringWithTwoPackets(fixture)
        try fixture.core.unbind(ring.app, page: ring.firstPage + 2)
        for tag in 2..<5 {
            #expect(
                fixture.deliver(packet(tag, count: 300), timestamp: 0, tag: UInt64(tag), with: &writer)
                    == .cancelled)
        }
        // Unbound, still the app's: not written.
        #expect(try fixture.core.arena.contents(of: ring.frames[2]) == zeros)
        #expect(writer.counters.cancelled == 3 && writer.position == 2)
        // The app binds a fresh frame there: delivery resumes at the slot it stopped at, and a new
        // consumer (the old one's addresses are stale) finds packets 0, 1 and then 5.
        let fresh = try fixture.core.allocate(for: .app(ring.app))
        try fixture.core.bind(
            ring.app, page: ring.firstPage + 2, to: fresh.frame, rights: [.read, .write],
            using: fresh.capability)
        #expect(fixture.deliver(packet(5, count: 300), timestamp: 0, tag: 5, with: &writer) == .delivered)
        var consumer = try RingConsumer(core: fixture.core, ring: ring)
        var tags: [UInt64] = []
        while let got = consumer.next() {
            #expect(Array(got.bytes) == packet(Int(got.tag), count: 300))
            tags.append(got.tag)
            consumer.release()
        }
        #expect(tags == [0, 1, 5])
        #expect(
            writer.counters.offered == 6 && writer.counters.delivered == 3 && writer.counters.cancelled == 3)
    }

    /// The header holds only the producer position, a hint: with its page unbound the slots are
    /// still delivered (the app reads owner words), and the header's frame is not written.
    @Test func unboundHeaderLosesOnlyThePositionHint() throws {
        let fixture = try Fixture()
        var (ring, writer) = try ringWithTwoPackets(fixture)
        try fixture.core.unbind(ring.app, page: ring.firstPage)
        let header = try fixture.core.arena.contents(of: ring.frames[0])
        #expect(fixture.deliver(packet(2, count: 300), timestamp: 0, tag: 2, with: &writer) == .delivered)
        #expect(try fixture.core.arena.contents(of: ring.frames[0]) == header)
        #expect(writer.counters.delivered == 3 && writer.counters.cancelled == 0)
    }

    @Test func freedFrameGoesToAnotherAppClean() throws {
        let fixture = try Fixture()
        var (ring, writer) = try ringWithTwoPackets(fixture)
        // Packets 0 and 1 sit in ring page 1's frame; the app frees it.
        let frame = ring.frames[1]
        #expect(try fixture.core.arena.contents(of: frame) != zeros)
        try fixture.core.free(frame, by: .app(ring.app))
        let stranger = try fixture.core.registerApp()
        let grant = try fixture.core.allocate(for: .app(stranger), frame: frame)
        try fixture.core.bind(
            stranger, page: ring.firstPage + 1, to: frame, rights: [.read, .write], using: grant.capability)
        #expect(try fixture.core.arena.contents(of: frame) == zeros)
        // The writer's cursor is at slot 2 (ring page 2, still bound): delivered. Slots 3, then 0
        // on the freed page: cancelled, and the stranger's frame stays clean.
        #expect(fixture.deliver(packet(2, count: 300), timestamp: 0, tag: 2, with: &writer) == .delivered)
        #expect(fixture.deliver(packet(3, count: 300), timestamp: 0, tag: 3, with: &writer) == .delivered)
        for tag in 4..<8 {
            #expect(
                fixture.deliver(packet(tag, count: 300), timestamp: 0, tag: UInt64(tag), with: &writer)
                    == .cancelled)
        }
        #expect(try fixture.core.arena.contents(of: frame) == zeros)
        #expect(writer.counters.delivered == 4 && writer.counters.cancelled == 4)
    }

    @Test func repossessedFrameCancelsAndGoesToANewOwnerClean() throws {
        let fixture = try Fixture()
        var (ring, writer) = try ringWithTwoPackets(fixture)
        // Fill the ring: packets 2 and 3 go into ring page 2, the highest-numbered bound frame,
        // which a forced repossession takes first.
        for tag in 2..<4 {
            #expect(
                fixture.deliver(packet(tag, count: 300), timestamp: 0, tag: UInt64(tag), with: &writer)
                    == .delivered)
        }
        var consumer = try RingConsumer(core: fixture.core, ring: ring)
        for _ in 0..<4 { consumer.release() }  // the app reads nothing, just hands every slot back
        let victim = ring.frames[2]
        #expect(ring.frames.max() == victim)
        try fixture.core.requestRevocation(from: ring.app, count: 1, deadline: 5)
        let taken = fixture.core.expireDeadlines(now: 5)
        #expect(taken[ring.app] == [victim])
        #expect(fixture.core.repossessionVector(of: ring.app).map(\.pages) == [[ring.firstPage + 2]])
        let newOwner = try fixture.core.registerApp()
        _ = try fixture.core.allocate(for: .app(newOwner), frame: victim)
        #expect(try fixture.core.arena.contents(of: victim) == zeros)
        // Slots 0 and 1 (ring page 1) are still the app's: delivered. Slot 2 is gone: cancelled.
        #expect(fixture.deliver(packet(4, count: 300), timestamp: 0, tag: 4, with: &writer) == .delivered)
        #expect(fixture.deliver(packet(5, count: 300), timestamp: 0, tag: 5, with: &writer) == .delivered)
        for tag in 6..<10 {
            #expect(
                fixture.deliver(packet(tag, count: 300), timestamp: 0, tag: UInt64(tag), with: &writer)
                    == .cancelled)
        }
        #expect(try fixture.core.arena.contents(of: victim) == zeros)
        #expect(writer.counters.offered == 10)
        #expect(
            writer.counters.delivered == 6 && writer.counters.cancelled == 4 && writer.counters.dropped == 0)
    }
}
