import DPFFilter
import DPFTestSupport
import DPFWire
import DPFWorkloads
import Testing

/// The hand-written demultiplexer, the benchmarks' baseline, names the app whose `ports` filter
/// the reference evaluator accepts, on the workload's packets and on packets it must turn away.
@Suite struct HandwrittenDemuxTests {
    static let workload = try! PortsWorkload(filters: 40, packets: 500, seed: 7)

    /// The app (by index) whose filter accepts the packet, or -1: the workload's filters exclude
    /// each other, so at most one does.
    static func expectedOwner(_ bytes: [UInt8]) -> Int32 {
        let owners = workload.apps.indices.filter {
            ReferenceEvaluator.matches(workload.apps[$0].tree, bytes: bytes)
        }
        #expect(owners.count <= 1)
        return owners.first.map(Int32.init) ?? -1
    }

    static func owner(_ demux: HandwrittenDemux, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { demux.owner($0) }
    }

    /// Agreement on the packet and on every shorter capture of it.
    static func checkEveryPrefix(_ demux: HandwrittenDemux, _ bytes: [UInt8]) {
        for length in 0...bytes.count {
            let cut = Array(bytes.prefix(length))
            #expect(owner(demux, cut) == expectedOwner(cut), "\(cut)")
        }
    }

    @Test func agreesWithTheReferenceEvaluatorOnTheWorkload() {
        let demux = HandwrittenDemux(Self.workload)
        var owned = 0
        for packet in Self.workload.packets {
            let expected = Self.expectedOwner(packet)
            #expect(Self.owner(demux, packet) == expected)
            if expected >= 0 { owned += 1 }
        }
        // Both hits and misses were checked.
        #expect(owned > 100 && owned < Self.workload.packets.count - 100)
    }

    @Test func agreesOnOptionsFragmentsIPv6AndOtherProtocols() throws {
        let demux = HandwrittenDemux(Self.workload)
        let client = IPv4Address(192, 0, 2, 1)
        let server = IPv4Address(10, 0, 0, 2)
        let source = try #require(IPv6Address("2001:db8::1"))
        let destination = try #require(IPv6Address("2001:db8::2"))
        let tcpPort = PortsWorkload.firstPort  // app 0: TCP
        let udpPort = PortsWorkload.firstPort + 1  // app 1: UDP
        let packets: [(String, PacketBuilder, Int32)] = [
            (
                "tcp over ip4",
                PacketBuilder.ethernet().ipv4(src: client, dst: server)
                    .tcp(sourcePort: 1, destinationPort: tcpPort), 0
            ),
            (
                "udp over ip4",
                PacketBuilder.ethernet().ipv4(src: client, dst: server)
                    .udp(sourcePort: 1, destinationPort: udpPort), 1
            ),
            (
                "the wrong protocol for the port",
                PacketBuilder.ethernet().ipv4(src: client, dst: server)
                    .udp(sourcePort: 1, destinationPort: tcpPort), -1
            ),
            (
                "ip4 options",
                PacketBuilder.ethernet().ipv4(src: client, dst: server, options: Array(1...12))
                    .tcp(sourcePort: 1, destinationPort: tcpPort), 0
            ),
            (
                "first fragment",
                PacketBuilder.ethernet().ipv4(src: client, dst: server, flags: 0b001)
                    .udp(sourcePort: 1, destinationPort: udpPort), 1
            ),
            (
                "later fragment",
                PacketBuilder.ethernet().ipv4(src: client, dst: server, fragmentOffset: 185)
                    .udp(sourcePort: 1, destinationPort: udpPort), -1
            ),
            (
                "tcp over ip6",
                PacketBuilder.ethernet().ipv6(src: source, dst: destination)
                    .tcp(sourcePort: 1, destinationPort: tcpPort), 0
            ),
            (
                "udp over ip6",
                PacketBuilder.ethernet().ipv6(src: source, dst: destination)
                    .udp(sourcePort: 1, destinationPort: udpPort), 1
            ),
            (
                "ip6 fragment header",
                PacketBuilder.ethernet().ipv6(src: source, dst: destination).ipv6Fragment()
                    .udp(sourcePort: 1, destinationPort: udpPort), -1
            ),
            (
                "vlan tag",
                PacketBuilder.ethernet().vlan(id: 100).ipv4(src: client, dst: server)
                    .tcp(sourcePort: 1, destinationPort: tcpPort), -1
            ),
            (
                "icmp4",
                PacketBuilder.ethernet().ipv4(src: client, dst: server).icmp4(type: 8)
                    .payload([0x04, 0x00, 0x04, 0x00]), -1
            ),
            (
                "gre",
                PacketBuilder.ethernet().ipv4(src: client, dst: server)
                    .payload([0, 0, 0x04, 0x00, 0, 0, 0, 0], ipProtocol: 47), -1
            ),
            ("icmp6", PacketBuilder.ethernet().ipv6(src: source, dst: destination).icmp6(type: 128), -1),
            ("arp", PacketBuilder.ethernet().arp(senderIP: client, targetIP: server), -1),
            (
                "another ethertype",
                PacketBuilder.ethernet().payload(Array(repeating: 4, count: 60), etherType: 0x88CC), -1
            ),
        ]
        for (name, builder, owner) in packets {
            let bytes = builder.payload([1, 2, 3]).bytes
            #expect(Self.expectedOwner(bytes) == owner, "the reference evaluator on \(name)")
            #expect(Self.owner(demux, bytes) == owner, "\(name)")
            Self.checkEveryPrefix(demux, bytes)
        }
    }

    @Test func agreesOnRandomPacketsWithTheWorkloadsPorts() {
        let demux = HandwrittenDemux(Self.workload)
        var generator = SeededGenerator(seed: 10)
        var random = RandomPackets(seed: 10)
        random.corruptionRate = 0  // a corrupted IPv4 header length is not what either decodes
        for _ in 0..<2_000 {
            var packet = random.next()
            // Move one port into the workload's range, where it may hit an app.
            let fields = PacketFields(packet)
            if let start = fields.start(of: .tcp) ?? fields.start(of: .udp), start + 4 <= packet.bytes.count {
                let port = PortsWorkload.firstPort + UInt16.random(in: 0..<60, using: &generator)
                packet.bytes[start + 2] = UInt8(port >> 8)
                packet.bytes[start + 3] = UInt8(port & 0xFF)
            }
            // Random bytes (3% of packets) can carry any IPv4 header length; skip those below 5.
            if packet.bytes.count > 14, packet.bytes[12] == 0x08, packet.bytes[13] == 0,
                packet.bytes[14] & 0x0F < 5
            {
                continue
            }
            #expect(Self.owner(demux, packet.bytes) == Self.expectedOwner(packet.bytes), "\(packet.bytes)")
        }
    }
}
