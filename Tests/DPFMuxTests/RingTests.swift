import DPFMemory
import DPFMux
import Testing

@Suite struct RingLayoutTests {
    @Test func defaultLayoutPutsTwoSlotsInAPage() throws {
        let layout = try RingLayout(pages: 5)
        #expect(layout.slotSize == 2_048)
        #expect(layout.slotsPerPage == 2)
        #expect(layout.slotCount == 8)
        #expect(layout.capacity == 2_016)
        #expect(layout.pages == 5)
        #expect(layout.offset(ofSlot: 0) == 4_096)
        #expect(layout.offset(ofSlot: 3) == 4_096 + 3 * 2_048)
        // A slot never spans two pages.
        for size in [128, 256, 512, 1_024, 2_048, 4_096] {
            let layout = try RingLayout(pages: 3, slotSize: size)
            for slot in 0..<layout.slotCount {
                let start = layout.offset(ofSlot: slot)
                #expect(start / 4_096 == (start + size - 1) / 4_096)
            }
        }
    }

    @Test func invalidConfigurationsAreTypedErrors() {
        #expect(throws: RingError.invalidSlotSize(100)) { try RingLayout(slotCount: 4, slotSize: 100) }
        #expect(throws: RingError.invalidSlotSize(8_192)) { try RingLayout(slotCount: 4, slotSize: 8_192) }
        #expect(throws: RingError.invalidSlotSize(64)) { try RingLayout(slotCount: 4, slotSize: 64) }
        #expect(throws: RingError.invalidSlotSize(0)) { try RingLayout(slotCount: 4, slotSize: 0) }
        #expect(throws: RingError.invalidSlotCount(0)) { try RingLayout(slotCount: 0) }
        #expect(throws: RingError.invalidSlotCount(-3)) { try RingLayout(slotCount: -3) }
        #expect(throws: RingError.invalidSlotCount(1 << 21)) { try RingLayout(slotCount: 1 << 21) }
        #expect(throws: RingError.invalidPageCount(1)) { try RingLayout(pages: 1) }
        #expect(throws: RingError.invalidPageCount(Int.max)) { try RingLayout(pages: Int.max) }
    }

    @Test func ringSetupRefusesBadPlacesAndGivesFramesBack() throws {
        let fixture = try Fixture(frames: 8, pagesPerApp: 16)
        let core = fixture.core
        let app = try core.registerApp()
        #expect(throws: RingError.pagesOutOfRange(first: 14, count: 3)) {
            try ReceiveRing.create(in: core, for: app, firstPage: 14, pages: 3)
        }
        // Page 2 is taken: the ring's first two frames are allocated and bound, then given back.
        let other = try core.allocate(for: .app(app))
        try core.bind(app, page: 2, to: other.frame, rights: .read, using: other.capability)
        #expect(throws: RingError.memory(.pageAlreadyBound(2))) {
            try ReceiveRing.create(in: core, for: app, firstPage: 0, pages: 4)
        }
        #expect(core.frames(ownedBy: .app(app)) == [other.frame])
        #expect(core.pageTable(of: app).mappings.map(\.page) == [2])
        // Not enough frames.
        #expect(throws: RingError.memory(.noFreeFrames)) {
            try ReceiveRing.create(in: core, for: app, firstPage: 3, pages: 9)
        }
        #expect(core.freeFrameCount == 7)
        // A consumer needs the ring's pages bound.
        #expect(throws: RingError.pageNotBound(5)) { try RingConsumer(core: core, app: app, firstPage: 5) }
        #expect(throws: RingError.pageNotBound(2)) { try RingConsumer(core: core, app: app, firstPage: 2) }
    }
}

@Suite struct RingDeliveryTests {
    @Test func roundTripIsExactAndRecordsTruncation() throws {
        let fixture = try Fixture()
        _ = try fixture.core.registerApp()  // the ring's app is not app 0
        let ring = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 3, pages: 5)
        var writer = RingWriter(ring)
        var consumer = try RingConsumer(core: fixture.core, ring: ring)
        #expect(consumer.layout == ring.layout)
        #expect(consumer.next() == nil)
        let releasedEmpty = consumer.release()
        #expect(!releasedEmpty)

        // 100 packets through 8 slots, in bursts of up to 8, with lengths from 0 to past a slot.
        let lengths = [0, 1, 60, 64, 1_514, 2_016, 2_017, 3_000, 9_000]
        var sent = 0
        var received = 0
        var truncated = 0
        while received < 100 {
            let burst = min(1 + sent % 8, 100 - sent)
            for _ in 0..<burst {
                let length = lengths[sent % lengths.count]
                let bytes = packet(sent, count: length)
                let wire = sent % 5 == 0 ? length + 100 : nil
                if min(length, 2_016) < (wire ?? length) { truncated += 1 }
                let outcome = fixture.deliver(
                    bytes, wireLength: wire, timestamp: 1_000_000 + UInt64(sent) * 7,
                    tag: UInt64(sent) << 32 | 9,
                    with: &writer)
                #expect(outcome == .delivered)
                sent += 1
            }
            #expect(consumer.producerPosition == UInt64(sent))
            while let got = consumer.next() {
                let length = lengths[received % lengths.count]
                let expected = packet(received, count: min(length, 2_016))
                #expect(Array(got.bytes) == expected)
                #expect(got.capturedLength == min(length, 2_016))
                #expect(got.wireLength == (received % 5 == 0 ? length + 100 : length))
                #expect(got.isTruncated == (got.capturedLength < got.wireLength))
                #expect(got.timestamp == 1_000_000 + UInt64(received) * 7)
                #expect(got.tag == UInt64(received) << 32 | 9)
                #expect(got.position == UInt64(received))
                let released = consumer.release()
                #expect(released)
                received += 1
                #expect(try fixture.word(at: RingLayout.consumerOffset, in: ring) == UInt64(received))
            }
            #expect(received == sent)
        }
        #expect(writer.counters.offered == 100)
        #expect(writer.counters.delivered == 100)
        #expect(writer.counters.truncated == UInt64(truncated))
        #expect(writer.counters.dropped == 0 && writer.counters.cancelled == 0)
        #expect(writer.position == 100 && consumer.position == 100)
    }

    @Test func fullRingDropsAndCountsThenResumes() throws {
        let fixture = try Fixture()
        let ring = try ReceiveRing.create(
            in: fixture.core, for: fixture.core.registerApp(), firstPage: 0, pages: 3)
        #expect(ring.layout.slotCount == 4)
        var writer = RingWriter(ring)
        var consumer = try RingConsumer(core: fixture.core, ring: ring)
        var outcomes: [DeliveryOutcome] = []
        for tag in 0..<10 {
            outcomes.append(
                fixture.deliver(packet(tag, count: 64), timestamp: 0, tag: UInt64(tag), with: &writer))
        }
        #expect(outcomes == Array(repeating: .delivered, count: 4) + Array(repeating: .dropped, count: 6))
        #expect(writer.counters.dropped == 6 && writer.counters.delivered == 4)
        #expect(consumer.next()?.tag == 0)
        let releasedTwo = consumer.release() && consumer.release()
        #expect(releasedTwo)
        for tag in 10..<13 {
            outcomes.append(
                fixture.deliver(packet(tag, count: 64), timestamp: 0, tag: UInt64(tag), with: &writer))
        }
        #expect(outcomes.suffix(3) == [.delivered, .delivered, .dropped])
        var tags: [UInt64] = []
        while let received = consumer.next() {
            #expect(Array(received.bytes) == packet(Int(received.tag), count: 64))
            tags.append(received.tag)
            consumer.release()
        }
        #expect(tags == [2, 3, 10, 11])
        #expect(writer.counters.offered == 13)
        #expect(
            writer.counters.delivered == 6 && writer.counters.dropped == 7 && writer.counters.cancelled == 0)
    }
}
