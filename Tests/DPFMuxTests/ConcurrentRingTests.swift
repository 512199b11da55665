import DPFMemory
import DPFMux
import Dispatch
import Foundation
import Synchronization
import Testing

/// A writer thread (the multiplexer's worker) and a consumer thread (the app) on one ring. Run
/// under ThreadSanitizer with `swift test --sanitize=thread --filter DPFMuxTests`.
@Suite struct ConcurrentRingTests {
    static let packets = 100_000

    final class Results: Sendable {
        let writer = Mutex(RingCounters())
        let dropped = Mutex<[Bool]>([])
        let received = Mutex<[UInt64]>([])
        let done = Atomic<Bool>(false)
        let failures = Atomic<Int>(0)
    }

    /// Packet `sequence`: 64 to 127 bytes, its sequence number in the first and last 8 bytes.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, sequence: UInt64) -> Int {
        let length = 64 + Int(sequence % 64)
        buffer.storeBytes(of: sequence, toByteOffset: 0, as: UInt64.self)
        for index in 8..<(length - 8) { buffer[index] = UInt8(truncatingIfNeeded: sequence &+ UInt64(index)) }
        buffer.storeBytes(of: ~sequence, toByteOffset: length - 8, as: UInt64.self)
        return length
    }

    static func check(_ got: ReceivedPacket, sequence: UInt64) -> Bool {
        let length = 64 + Int(sequence % 64)
        guard got.tag == sequence, got.timestamp == sequence &* 3, got.capturedLength == length,
            got.wireLength == length, got.bytes.load(fromByteOffset: 0, as: UInt64.self) == sequence,
            got.bytes.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self) == ~sequence
        else { return false }
        for index in 8..<(length - 8)
        where got.bytes[index] != UInt8(truncatingIfNeeded: sequence &+ UInt64(index)) {
            return false
        }
        return true
    }

    /// `retry`: the writer offers a dropped packet again until it is delivered (a consumer that
    /// keeps up loses nothing); otherwise it moves on and records the drop. `lag`: the consumer
    /// pauses every 256 packets.
    func run(retry: Bool, lag: Bool) throws -> Results {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 32, maxApps: 2, pagesPerApp: 32, maxWorkers: 1))
        let worker = try core.registerWorker()
        let ring = try ReceiveRing.create(in: core, for: core.registerApp(), firstPage: 0, pages: 9)
        let results = Results()
        let group = DispatchGroup()
        spawn(group) {
            var writer = RingWriter(ring)
            var dropped = [Bool](repeating: false, count: Self.packets)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
            defer { buffer.deallocate() }
            for sequence in 0..<UInt64(Self.packets) {
                let length = Self.fill(buffer, sequence: sequence)
                while true {
                    let outcome = core.withCriticalSection(worker) { access in
                        writer.deliver(
                            UnsafeRawBufferPointer(rebasing: buffer[0..<length]), timestamp: sequence &* 3,
                            tag: sequence, through: access)
                    }
                    if outcome == .delivered { break }
                    if outcome == .cancelled { results.failures.add(1, ordering: .relaxed) }
                    if !retry {
                        dropped[Int(sequence)] = true
                        break
                    }
                    sched_yield()
                }
            }
            results.writer.withLock { $0 = writer.counters }
            results.dropped.withLock { $0 = dropped }
            results.done.store(true, ordering: .releasing)
        }
        spawn(group) {
            do {
                var consumer = try RingConsumer(core: core, ring: ring)
                var received: [UInt64] = []
                received.reserveCapacity(Self.packets)
                while true {
                    guard let got = consumer.next() else {
                        if results.done.load(ordering: .acquiring) && consumer.next() == nil { break }
                        sched_yield()
                        continue
                    }
                    let expected = retry ? UInt64(received.count) : got.tag
                    if !Self.check(got, sequence: expected) { results.failures.add(1, ordering: .relaxed) }
                    received.append(got.tag)
                    consumer.release()
                    if lag && received.count % 256 == 0 { usleep(200) }
                }
                results.received.withLock { $0 = received }
            } catch {
                results.failures.add(1, ordering: .relaxed)
            }
        }
        group.wait()
        return results
    }

    @Test func aConsumerThatKeepsUpGetsEveryPacketInOrder() throws {
        let results = try run(retry: true, lag: false)
        #expect(results.failures.load(ordering: .relaxed) == 0)
        let received = results.received.withLock { $0 }
        #expect(received == (0..<UInt64(Self.packets)).map { $0 })
        let counters = results.writer.withLock { $0 }
        #expect(counters.delivered == UInt64(Self.packets) && counters.cancelled == 0)
        #expect(counters.offered == counters.delivered + counters.dropped)
    }

    @Test func aLaggingConsumerLosesExactlyTheCountedDrops() throws {
        let results = try run(retry: false, lag: true)
        #expect(results.failures.load(ordering: .relaxed) == 0)
        let received = results.received.withLock { $0 }
        let dropped = results.dropped.withLock { $0 }
        let counters = results.writer.withLock { $0 }
        #expect(counters.offered == UInt64(Self.packets))
        #expect(counters.offered == counters.delivered + counters.dropped && counters.cancelled == 0)
        #expect(counters.dropped == UInt64(dropped.count { $0 }))
        #expect(counters.dropped > 0)
        // Exactly the packets not dropped arrive, in order.
        #expect(received == (0..<UInt64(Self.packets)).filter { !dropped[Int($0)] })
    }

    /// While the writer thread delivers, the control plane frees or repossesses ring frames, hands
    /// them to a stranger, and gives the app fresh frames; the app drains its ring between changes.
    /// The stranger's frames never hold a byte of the ring's.
    @Test func framesChangeHandsUnderAWritingWorker() throws {
        let core = try MemoryCore(
            MemoryCore.Configuration(frames: 32, maxApps: 3, pagesPerApp: 32, maxWorkers: 1))
        let worker = try core.registerWorker()
        let app = try core.registerApp()
        let stranger = try core.registerApp()
        let ring = try ReceiveRing.create(in: core, for: app, firstPage: 0, pages: 5)
        let results = Results()
        let group = DispatchGroup()
        spawn(group) {
            var writer = RingWriter(ring)
            var payload = [UInt8](repeating: 0xA5, count: 200)
            var sequence: UInt64 = 0
            while !results.done.load(ordering: .acquiring) {
                sequence &+= 1
                payload[0] = UInt8(truncatingIfNeeded: sequence) | 1
                _ = core.withCriticalSection(worker) { access in
                    payload.withUnsafeBytes {
                        writer.deliver($0, timestamp: sequence, tag: sequence, through: access)
                    }
                }
            }
            results.writer.withLock { $0 = writer.counters }
        }
        let zeros = [UInt8](repeating: 0, count: RingLayout.pageSize)
        var drained = 0
        var consumed: UInt64 = 0
        var now: UInt64 = 0
        for round in 0..<200 {
            let frames = core.pageTable(of: app).mappings
            let lost: Mapping
            if round % 2 == 0 {
                lost = frames[1 + round % (frames.count - 1)]
                try core.free(lost.frame, by: .app(app))
            } else {
                now += 1
                try core.requestRevocation(from: app, count: 1, deadline: now)
                let taken = core.expireDeadlines(now: now)[app] ?? []
                try #require(taken.count == 1)
                lost = try #require(frames.first { $0.frame == taken[0] })
            }
            let grant = try core.allocate(for: .app(stranger), frame: lost.frame)
            #expect(try core.arena.contents(of: lost.frame) == zeros)
            usleep(100)
            #expect(try core.arena.contents(of: lost.frame) == zeros)
            try core.free(grant.frame, by: .app(stranger))
            let fresh = try core.allocate(for: .app(app))
            if lost.page == ring.firstPage {  // the header went: the app writes a new one
                let header = try core.arena.address(ofFrame: fresh.frame)
                header.storeBytes(of: RingLayout.magic, toByteOffset: RingLayout.magicOffset, as: UInt32.self)
                header.storeBytes(
                    of: RingLayout.version, toByteOffset: RingLayout.versionOffset, as: UInt32.self)
                header.storeBytes(of: UInt32(ring.layout.slotCount), toByteOffset: 8, as: UInt32.self)
                header.storeBytes(of: UInt32(ring.layout.slotSize), toByteOffset: 12, as: UInt32.self)
                header.storeBytes(of: UInt32(RingLayout.firstSlotOffset), toByteOffset: 16, as: UInt32.self)
                header.storeBytes(of: consumed, toByteOffset: RingLayout.consumerOffset, as: UInt64.self)
            }
            try core.bind(
                app, page: lost.page, to: fresh.frame, rights: [.read, .write], using: fresh.capability)
            var consumer = try RingConsumer(core: core, app: app, firstPage: ring.firstPage)
            while let got = consumer.next() {
                if got.bytes.count != 200 || got.bytes[1] != 0xA5 {
                    results.failures.add(1, ordering: .relaxed)
                }
                consumer.release()
                drained += 1
            }
            consumed = consumer.position
        }
        results.done.store(true, ordering: .releasing)
        group.wait()
        let counters = results.writer.withLock { $0 }
        #expect(results.failures.load(ordering: .relaxed) == 0)
        #expect(counters.offered == counters.delivered + counters.dropped + counters.cancelled)
        #expect(counters.delivered > 0 && drained > 0)
        #expect(counters.cancelled > 0)
    }
}

private func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    let thread = Thread {
        body()
        group.leave()
    }
    thread.start()
}
