import DPFMemory
import DPFMux
import DPFTestSupport
import DPFWire
import Testing

/// Per-flow order with several workers: packets of many flows, in both directions, carry the
/// flow's number and a sequence number running over both directions. Each app's rings (one per
/// worker) hold every packet of a flow in one ring, in sequence, whichever direction it went.
@Suite struct MuxFlowOrderTests {
    static let flows = 96
    static let packets = 3_000

    /// Flow `flow`'s packet number `sequence`, from the client (or, `reverse`, from the server).
    static func packet(flow: Int, sequence: Int, reverse: Bool) -> [UInt8] {
        let isTCP = flow % 2 == 0
        let clientPort = UInt16(10_000 + flow * 7)
        let serverPort: UInt16 = [80, 443, 53, 5_060][flow % 4]
        var builder = PacketBuilder.ethernet()
        if flow % 3 == 0 {
            let client = IPv6Address(high: 0x2001_0db8_0000_0001 << 16, low: UInt64(flow))
            let server = IPv6Address(high: 0x2001_0db8_0000_0002 << 16, low: UInt64(flow % 5))
            builder =
                reverse ? builder.ipv6(src: server, dst: client) : builder.ipv6(src: client, dst: server)
        } else {
            let client = IPv4Address(10, 0, UInt8(flow / 256), UInt8(flow % 256))
            let server = IPv4Address(10, 1, 0, UInt8(flow % 13))
            builder =
                reverse ? builder.ipv4(src: server, dst: client) : builder.ipv4(src: client, dst: server)
        }
        let (source, destination) = reverse ? (serverPort, clientPort) : (clientPort, serverPort)
        builder =
            isTCP
            ? builder.tcp(sourcePort: source, destinationPort: destination)
            : builder.udp(sourcePort: source, destinationPort: destination)
        return NumberedPackets.make(builder, first: UInt32(flow), second: UInt32(sequence))
    }

    @Test(arguments: [2, 3])
    func eachFlowKeepsItsOrderInOneRing(workers: Int) throws {
        let mux = try Multiplexer(
            MuxConfiguration(workers: workers, frames: 2_048, maxApps: 4, pagesPerApp: 1_024, batchSize: 32))
        let filters: [(app: String, expression: String, isTap: Bool)] = [
            ("tcp", "tcp", false), ("udp", "udp", false), ("watch", "ip4 or ip6", true),
        ]
        var apps: [MuxApp] = []
        for filter in filters {
            let app = try mux.registerApp(named: filter.app)
            try mux.createRings(for: app.id, presenting: app.binding, slots: 4_096, slotSize: 128)
            _ = try mux.install(
                FilterRequest(
                    name: filter.app, tree: try RandomFilterSets.tree(filter.expression), isTap: filter.isTap),
                for: app.id, presenting: app.binding)
            apps.append(app)
        }

        // Flows interleaved at random, each direction chosen at random.
        var random = SeededGenerator(seed: 0xF10_0 + UInt64(workers))
        var next = Array(repeating: 0, count: Self.flows)
        var directions = Array(repeating: Set<Bool>(), count: Self.flows)
        var packets: [[UInt8]] = []
        for _ in 0..<Self.packets {
            let flow = Int.random(in: 0..<Self.flows, using: &random)
            let reverse = random.chance(0.5)
            packets.append(Self.packet(flow: flow, sequence: next[flow], reverse: reverse))
            directions[flow].insert(reverse)
            next[flow] += 1
        }
        #expect(directions.allSatisfy { $0.count == 2 }, "a flow went one way only")
        let result = try mux.run(InMemorySource(packets))
        #expect(result.packets == packets.count)

        for app in apps {
            let rings = try drainRings(of: app, in: mux)
            /// By flow: the ring it landed in, and its sequence numbers in ring order.
            var ringOf: [Int: Set<Int>] = [:]
            var sequences: [Int: [Int]] = [:]
            for (ring, received) in rings.enumerated() {
                for packet in received {
                    let (flow, sequence) = NumberedPackets.numbers(packet.bytes)
                    ringOf[Int(flow), default: []].insert(ring)
                    sequences[Int(flow), default: []].append(Int(sequence))
                }
            }
            let wanted = (0..<Self.flows).filter { flow in
                switch app.name {
                case "tcp": flow % 2 == 0
                case "udp": flow % 2 == 1
                default: true
                }
            }
            #expect(Set(sequences.keys) == Set(wanted), "\(app.name)")
            for flow in wanted {
                #expect(ringOf[flow]?.count == 1, "\(app.name): flow \(flow) in rings \(ringOf[flow] ?? [])")
                #expect(sequences[flow] == Array(0..<next[flow]), "\(app.name): flow \(flow) out of order")
            }
            // The flows were spread: more than one ring is in use.
            #expect(Set(ringOf.values.flatMap { $0 }).count > 1, "\(app.name)")
        }
        let statistics = mux.statistics()
        #expect(statistics.isBalanced && statistics.received == UInt64(packets.count))
        #expect(statistics.delivered == UInt64(packets.count) && statistics.dropped == 0)
    }
}
