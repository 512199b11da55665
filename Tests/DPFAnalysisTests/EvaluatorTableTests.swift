import DPFAnalysis
import DPFFilter
import DPFWire
import Testing

/// Hand-built packets and, for each filter, whether the reference evaluator accepts it.
@Suite struct EvaluatorTableTests {
    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func ip6(_ text: String) -> IPv6Address { IPv6Address(text)! }

    static let packets: [String: Packet] = [
        "http": PacketBuilder.ethernet().ipv4(src: ip("192.0.2.7"), dst: ip("10.1.0.5"), ttl: 64)
            .tcp(sourcePort: 40_000, destinationPort: 80, flags: TCPFlags.syn).packet,
        "http-options": PacketBuilder.ethernet().ipv4(
            src: ip("192.0.2.7"), dst: ip("10.1.0.5"), options: [0x94, 0x04, 0, 0, 1, 1, 1, 0]
        )
        .tcp(sourcePort: 40_000, destinationPort: 80, flags: TCPFlags.syn).packet,
        "http-cut-in-ports": PacketBuilder.ethernet().ipv4(src: ip("192.0.2.7"), dst: ip("10.1.0.5"))
            .tcp(sourcePort: 40_000, destinationPort: 80).packet.truncated(to: 36),
        "http-cut-after-ports": PacketBuilder.ethernet().ipv4(src: ip("192.0.2.7"), dst: ip("10.1.0.5"))
            .tcp(sourcePort: 40_000, destinationPort: 80).packet.truncated(to: 38),
        "fragment": PacketBuilder.ethernet().ipv4(
            src: ip("192.0.2.7"), dst: ip("10.1.0.5"), fragmentOffset: 185
        )
        .tcp(sourcePort: 40_000, destinationPort: 80).packet,
        "https6": PacketBuilder.ethernet().ipv6(src: ip6("2001:db8:1::7"), dst: ip6("2001:db8:2::443"))
            .tcp(sourcePort: 40_001, destinationPort: 443, flags: TCPFlags.syn | TCPFlags.ack).packet,
        "dns6-fragment": PacketBuilder.ethernet().ipv6(src: ip6("2001:db8::9"), dst: ip6("2001:db8::53"))
            .ipv6Fragment().udp(sourcePort: 5353, destinationPort: 53).packet,
        "dns": PacketBuilder.ethernet().ipv4(src: ip("10.0.0.9"), dst: ip("10.0.0.53")).udp(
            sourcePort: 33_000, destinationPort: 53
        ).packet,
        "vlan-dns": PacketBuilder.ethernet().vlan(id: 100, priority: 6).ipv4(
            src: ip("10.0.0.9"), dst: ip("10.0.0.53")
        )
        .udp(sourcePort: 33_000, destinationPort: 53).packet,
        "qinq-dns": PacketBuilder.ethernet().vlan(id: 300, tpid: 0x88A8).vlan(id: 100).ipv4(
            src: ip("10.0.0.9"), dst: ip("10.0.0.53")
        )
        .udp(sourcePort: 33_000, destinationPort: 53).packet,
        "arp": PacketBuilder.ethernet(destination: .broadcast).arp(
            senderIP: ip("10.0.0.9"), targetIP: ip("10.0.0.1")
        ).packet,
        "ping": PacketBuilder.ethernet().ipv4(src: ip("10.0.0.9"), dst: ip("10.0.0.1")).icmp4(type: 8).packet,
        "ns": PacketBuilder.ethernet(destination: MACAddress(0x33_33_FF_00_00_01)).ipv6(
            src: ip6("fe80::1"), dst: ip6("ff02::1:ff00:1"), hopLimit: 255
        ).icmp6(type: 135).packet,
        "empty": Packet(bytes: []),
        "runt": Packet(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0, 1, 0x08]),
    ]

    /// (filter, packets it accepts); every other packet in the table must be rejected.
    static let table: [(filter: String, accepts: Set<String>)] = [
        ("tcp", ["http", "http-options", "http-cut-in-ports", "http-cut-after-ports", "fragment", "https6"]),
        ("tcp.dport == 80", ["http", "http-options", "http-cut-after-ports"]),
        ("tcp.dport != 80", ["https6"]),
        (
            "not tcp.dport == 80",
            [
                "http-cut-in-ports", "fragment", "https6", "dns6-fragment", "dns", "vlan-dns", "qinq-dns",
                "arp", "ping", "ns", "empty", "runt",
            ]
        ),
        ("tcp.sport == 40000", ["http", "http-options", "http-cut-in-ports", "http-cut-after-ports"]),
        ("tcp.flags & 0x12 == 0x02", ["http", "http-options"]),
        ("tcp[13:1] & 0x02 != 0", ["http", "http-options"]),
        (
            "ip4.dst in 10.1.0.0/16",
            ["http", "http-options", "http-cut-in-ports", "http-cut-after-ports", "fragment"]
        ),
        ("ip4.ihl > 5", ["http-options"]),
        ("ip4.frag != 0", ["fragment"]),
        ("ip6.dst in 2001:db8:2::/48", ["https6"]),
        ("ip6.src == 2001:db8:1::7 and tcp.dport == 443", ["https6"]),
        ("ip6.next == 44", ["dns6-fragment"]),
        ("udp", ["dns6-fragment", "dns"]),
        ("udp.dport == 53", ["dns"]),
        ("udp.dport in 50..60 or tcp.dport in 440..450", ["dns", "https6"]),
        ("vlan", ["vlan-dns", "qinq-dns"]),
        ("vlan.id == 100 and udp.dport == 53", ["vlan-dns"]),
        ("vlan.pcp >= 5", ["vlan-dns"]),
        ("vlan and vlan and udp.dport == 53", ["qinq-dns"]),
        ("vlan.id == 300 and vlan and vlan.id == 100 and ip4.dst == 10.0.0.53", ["qinq-dns"]),
        ("eth.type == 0x8100", ["vlan-dns"]),
        ("eth.dst == ff:ff:ff:ff:ff:ff", ["arp", "runt"]),
        ("eth.dst & 01:00:00:00:00:00 == 01:00:00:00:00:00", ["arp", "runt", "ns"]),
        ("arp and arp.tpa == 10.0.0.1", ["arp"]),
        ("icmp4.type == 8", ["ping"]),
        ("icmp6.type == 135 and ip6.hlim == 255", ["ns"]),
        ("icmp4 or icmp6", ["ping", "ns"]),
        (
            "eth[12:2] == 0x0800",
            ["http", "http-options", "http-cut-in-ports", "http-cut-after-ports", "fragment", "dns", "ping"]
        ),
        (
            "eth[12:1] == 0x08",
            [
                "http", "http-options", "http-cut-in-ports", "http-cut-after-ports", "fragment", "dns",
                "ping", "arp", "runt",
            ]
        ),
        ("eth", Set(packets.keys)),
        ("not eth", []),
        (
            "ip4.ttl >= 0",
            ["http", "http-options", "http-cut-in-ports", "http-cut-after-ports", "fragment", "dns", "ping"]
        ),
    ]

    @Test(arguments: table.map(\.filter))
    func filterAcceptsExactlyItsPackets(_ filter: String) throws {
        let accepts = EvaluatorTableTests.table.first { $0.filter == filter }!.accepts
        let tree = try FrontEnd.tree(filter)
        for (name, packet) in EvaluatorTableTests.packets.sorted(by: { $0.key < $1.key }) {
            #expect(
                ReferenceEvaluator.matches(tree, packet) == accepts.contains(name), "\(filter) on \(name)")
        }
    }

    @Test func loadsPastTheCapturedLengthFailTheAtomOnly() throws {
        let atom = try Atom(offset: 2, width: 4, value: 0)
        #expect(!ReferenceEvaluator.holds(atom, bytes: [0, 0, 0, 0, 0]))
        #expect(ReferenceEvaluator.holds(atom, bytes: [9, 9, 0, 0, 0, 0]))
        #expect(ReferenceEvaluator.matches(.not(.atom(atom)), bytes: [0, 0, 0]))
        let shifted = try Atom(
            base: try HeaderBase([try Shift(offset: 0, width: 1, mask: 0x0F, scale: 2)]), offset: 0, width: 1,
            value: 7)
        #expect(ReferenceEvaluator.holds(shifted, bytes: [0x02, 0, 0, 0, 0, 0, 0, 0, 7]))
        #expect(!ReferenceEvaluator.holds(shifted, bytes: [0x02, 0, 0, 0, 0, 0, 0, 0]))
        #expect(!ReferenceEvaluator.holds(shifted, bytes: []))
    }

    @Test func otherLinkTypes() throws {
        let raw = PacketBuilder.raw().ipv4(
            src: EvaluatorTableTests.ip("10.0.0.1"), dst: EvaluatorTableTests.ip("10.0.0.2")
        ).udp(sourcePort: 1, destinationPort: 53).packet
        let raw6 = PacketBuilder.raw().ipv6(
            src: EvaluatorTableTests.ip6("::1"), dst: EvaluatorTableTests.ip6("::2")
        ).udp(sourcePort: 1, destinationPort: 53).packet
        let cooked = PacketBuilder.linuxCooked().ipv4(
            src: EvaluatorTableTests.ip("10.0.0.1"), dst: EvaluatorTableTests.ip("10.0.0.2")
        ).udp(sourcePort: 1, destinationPort: 53).packet
        #expect(
            ReferenceEvaluator.matches(
                try FrontEnd.tree("udp.dport == 53 and ip4.src == 10.0.0.1", linkType: .raw), raw))
        #expect(!ReferenceEvaluator.matches(try FrontEnd.tree("ip4", linkType: .raw), raw6))
        #expect(
            ReferenceEvaluator.matches(try FrontEnd.tree("ip6 and udp.dport == 53", linkType: .raw), raw6))
        #expect(
            ReferenceEvaluator.matches(
                try FrontEnd.tree("udp.dport == 53 and ip4.dst == 10.0.0.2", linkType: .linuxCooked), cooked))
        #expect(try FrontEnd.tree("ip4", linkType: .ipv4) == .accept)
    }
}
