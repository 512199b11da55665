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

/// Program swaps while packets flow: under filter set A app x owns TCP and app y UDP, under B the
/// other way round. Another thread swaps between them over and over, make-before-break (the new
/// owner installs a higher-priority filter with the old owner's guard, then the old filter goes),
/// while two workers demultiplex. Every packet delivered agrees with A or with B, each is delivered
/// at most once, nothing TCP or UDP is ever unowned, and the counters balance.
@Suite struct MuxSwapTests {
    enum Kind: Sendable { case tcp, udp, other }

    static let perRun = 2_000
    static let swaps = 16

    /// Packet `index` of a run (its run number patched in later) and its kind: TCP, UDP (over IPv4
    /// and IPv6) and neither (ICMP, ARP), from many flows.
    static func packet(_ index: Int) -> (bytes: [UInt8], kind: Kind) {
        let port = UInt16(1_024 + index % 97)
        let v4 = PacketBuilder.ethernet().ipv4(
            src: IPv4Address(10, 0, UInt8(index % 7), 1), dst: IPv4Address(10, 1, 0, UInt8(index % 5)))
        let v6 = PacketBuilder.ethernet().ipv6(
            src: IPv6Address(high: 0x2001_0db8 << 32, low: UInt64(index % 11)),
            dst: IPv6Address(high: 0x2001_0db8 << 32, low: 0x443))
        let (builder, kind): (PacketBuilder, Kind) =
            switch index % 6 {
            case 0: (v4.tcp(sourcePort: port, destinationPort: 80), .tcp)
            case 1: (v4.udp(sourcePort: port, destinationPort: 53), .udp)
            case 2: (v6.tcp(sourcePort: port, destinationPort: 443), .tcp)
            case 3: (v6.udp(sourcePort: port, destinationPort: 5_060), .udp)
            case 4: (v4.icmp4(type: 8), .other)
            default:
                (
                    PacketBuilder.ethernet().arp(
                        senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 2)), .other
                )
            }
        return (NumberedPackets.make(builder, first: UInt32(index), second: 0), kind)
    }

    /// A filter some app held at some point: its app and what it took.
    struct Held: Sendable {
        let app: String
        let kind: Kind
    }

    struct Received: Sendable {
        let app: String
        let ring: Int
        let tag: UInt64
        let index: Int
        let run: Int
    }

    final class Shared: Sendable {
        let held = Locked<[UInt64: Held]>([:])
        let received = Locked<[Received]>([])
        let failures = Locked<[String]>([])
        let swapsDone = Atomic<Bool>(false)
        let runs = Atomic<Int>(0)
        /// Packets the runs' sources have handed out so far.
        let progress = CountingSource.Counter()

        func fail(_ message: String) { failures.withLock { $0.append(message) } }
    }

    @Test func deliveriesAgreeWithOneSetOrTheOther() throws {
        let workers = 2
        let mux = try Multiplexer(
            MuxConfiguration(workers: workers, frames: 1_024, maxApps: 4, pagesPerApp: 256, batchSize: 32))
        let x = try mux.registerApp(named: "x")
        let y = try mux.registerApp(named: "y")
        let apps = [x, y]
        var consumers: [RingConsumer] = []
        for app in apps {
            for ring in try mux.createRings(for: app.id, presenting: app.binding, slots: 1_024, slotSize: 128)
            {
                consumers.append(try RingConsumer(core: mux.memory, ring: ring))
            }
        }
        let shared = Shared()
        let tcp = try RandomFilterSets.tree("tcp")
        let udp = try RandomFilterSets.tree("udp")
        func install(_ kind: Kind, for app: MuxApp, priority: Int, over old: (MuxApp, InstalledMuxFilter)?)
            throws
            -> InstalledMuxFilter
        {
            var guards: [CapabilityHandle] = []
            if let (holder, filter) = old {
                guards.append(try mux.grant(filter.guardCapability, to: app.id, by: holder.id))
            }
            let filter = try mux.install(
                FilterRequest(
                    name: "\(app.name)-\(kind)-\(priority)", tree: kind == .tcp ? tcp : udp,
                    priority: priority),
                for: app.id, presenting: app.binding, guards: guards)
            shared.held.withLock { $0[UInt64(filter.id.rawValue)] = Held(app: app.name, kind: kind) }
            return filter
        }
        // Set A.
        var tcpOwner = (x, try install(.tcp, for: x, priority: 0, over: nil))
        var udpOwner = (y, try install(.udp, for: y, priority: 0, over: nil))

        let template = (0..<Self.perRun).map(Self.packet)
        let drainer = RingDrainer(consumers) { index, packet in
            let (number, run) = NumberedPackets.numbers(packet.bytes)
            shared.received.withLock {
                $0.append(
                    Received(
                        app: apps[index / workers].name, ring: index % workers, tag: packet.tag,
                        index: Int(number),
                        run: Int(run)))
            }
        }
        #expect(drainer.start())
        let runner = TestThread {
            var run = 0
            while run < 2 || !shared.swapsDone.load(ordering: .acquiring) {
                let packets = template.map { packet in
                    var bytes = packet.bytes
                    NumberedPackets.setSecond(UInt32(run), in: &bytes)
                    return bytes
                }
                do {
                    let result = try mux.run(CountingSource(packets, counter: shared.progress))
                    if result.packets != packets.count {
                        shared.fail("run \(run): \(result.packets) packets")
                    }
                } catch {
                    shared.fail("run \(run): \(error)")
                }
                run += 1
            }
            shared.runs.store(run, ordering: .releasing)
        }
        // Waits until at least 256 packets have been decided under the filters now installed:
        // the sources have handed out that many more, past what the pipeline holds (its depth in
        // batches). (Not `statistics()`, which would contend for the workers' locks: see
        // `Locked`.)
        let configuration = mux.configuration
        let inFlight = configuration.pipelineDepth * configuration.batchSize
        func awaitTraffic() {
            let mark = shared.progress.packets.load(ordering: .sequentiallyConsistent)
            while shared.progress.packets.load(ordering: .sequentiallyConsistent) < mark + inFlight + 256 {
                usleep(100)
            }
        }
        // The swaps, each once a few hundred packets have gone by under the last.
        var priority = 0
        for swap in 0..<Self.swaps {
            awaitTraffic()
            priority += 1
            let (newTCP, newUDP) = swap % 2 == 0 ? (y, x) : (x, y)
            let tcpFilter = try install(.tcp, for: newTCP, priority: priority, over: tcpOwner)
            try mux.remove(tcpOwner.1.id, by: tcpOwner.0.id, presenting: tcpOwner.1.guardCapability)
            tcpOwner = (newTCP, tcpFilter)
            let udpFilter = try install(.udp, for: newUDP, priority: priority, over: udpOwner)
            try mux.remove(udpOwner.1.id, by: udpOwner.0.id, presenting: udpOwner.1.guardCapability)
            udpOwner = (newUDP, udpFilter)
        }
        awaitTraffic()
        shared.swapsDone.store(true, ordering: .releasing)
        runner.join()
        let counts = drainer.stop()

        let failures = shared.failures.withLock { $0 }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
        let held = shared.held.withLock { $0 }
        let received = shared.received.withLock { $0 }
        let runs = shared.runs.load(ordering: .acquiring)
        #expect(held.count == 2 + 2 * Self.swaps)
        #expect(UInt64(received.count) == counts.map(\.packets).reduce(0, +))

        // Each packet agrees with A or B: its ring's app held, when it was decided, a filter for
        // its kind, the one its tag names.
        var seen = Set<[Int]>()
        var kindsByApp: [String: Set<Int>] = [:]
        for packet in received {
            guard packet.run < runs, packet.index < Self.perRun else {
                Issue.record("a packet numbered \(packet.index) of run \(packet.run)")
                continue
            }
            let kind = template[packet.index].kind
            #expect(kind != .other, "packet \(packet.index) is neither TCP nor UDP, and \(packet.app) got it")
            let filter = held[packet.tag]
            #expect(
                filter?.app == packet.app && filter?.kind == kind, "tag \(packet.tag) in \(packet.app)'s ring"
            )
            #expect(
                seen.insert([packet.run, packet.index]).inserted, "packet \(packet.index) delivered twice")
            kindsByApp[packet.app, default: []].insert(kind == .tcp ? 0 : 1)
        }
        // Both sets were seen at work: each app got TCP (under one) and UDP (under the other).
        #expect(kindsByApp["x"] == [0, 1] && kindsByApp["y"] == [0, 1])

        // Within a ring, packets keep their order, and an app's filters for one kind follow one
        // another: a worker never goes back to an older snapshot.
        for app in apps {
            for ring in 0..<workers {
                let packets = received.filter { $0.app == app.name && $0.ring == ring }
                let order = packets.map { [$0.run, $0.index] }
                #expect(
                    order == order.sorted { $0.lexicographicallyPrecedes($1) }, "\(app.name) ring \(ring)")
                for kind in [Kind.tcp, .udp] {
                    let tags = packets.filter { template[$0.index].kind == kind }.map(\.tag)
                    #expect(tags == tags.sorted(), "\(app.name) ring \(ring) \(kind)")
                }
            }
        }

        // TCP and UDP always had an owner: exactly the other packets went unmatched.
        let statistics = mux.statistics()
        let others = template.count { $0.kind == .other }
        #expect(statistics.isBalanced)
        #expect(statistics.received == UInt64(runs * Self.perRun))
        #expect(statistics.unmatched == UInt64(runs * others) && statistics.malformed == 0)
        #expect(statistics.cancelled == 0)
        #expect(statistics.delivered == UInt64(received.count))
        #expect(statistics.delivered + statistics.dropped == UInt64(runs * (Self.perRun - others)))
    }
}
