import DPFWire

/// A small, fixed set of packets that exercises every example filter: web, DNS, ICMP, VLAN-tagged,
/// IPv6, ARP, IPv4 with options and fragments, and a truncated frame.
enum DemoTraffic {
    struct Sample {
        let note: String
        let packet: Packet
    }

    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func ip6(_ text: String) -> IPv6Address { IPv6Address(text)! }

    static let samples: [Sample] = [
        Sample(
            note: "HTTP SYN to the web farm",
            packet: PacketBuilder.ethernet().ipv4(src: ip("192.0.2.7"), dst: ip("10.1.0.5"))
                .tcp(sourcePort: 40_001, destinationPort: 80, flags: TCPFlags.syn).packet),
        Sample(
            note: "HTTP to a host outside 10.1/16",
            packet: PacketBuilder.ethernet().ipv4(src: ip("192.0.2.7"), dst: ip("10.2.0.5"))
                .tcp(sourcePort: 40_002, destinationPort: 80).packet),
        Sample(
            note: "HTTPS over IPv6",
            packet: PacketBuilder.ethernet().ipv6(src: ip6("2001:db8:1::7"), dst: ip6("2001:db8:2::443"))
                .tcp(sourcePort: 40_003, destinationPort: 443).packet),
        Sample(
            note: "DNS query",
            packet: PacketBuilder.ethernet().ipv4(src: ip("10.0.0.9"), dst: ip("10.0.0.53"))
                .udp(sourcePort: 53_000, destinationPort: 53).payload(Array(repeating: 0, count: 20)).packet),
        Sample(
            note: "DNS answer over IPv6",
            packet: PacketBuilder.ethernet().ipv6(src: ip6("2001:db8::53"), dst: ip6("2001:db8::9"))
                .udp(sourcePort: 53, destinationPort: 53_000).payload(Array(repeating: 0, count: 40)).packet),
        Sample(
            note: "ping request",
            packet: PacketBuilder.ethernet().ipv4(src: ip("10.0.0.9"), dst: ip("10.0.0.1"))
                .icmp4(type: 8).payload(Array(repeating: 0x61, count: 32)).packet),
        Sample(
            note: "IPv6 neighbour solicitation",
            packet: PacketBuilder.ethernet(destination: MACAddress(0x33_33_FF_00_00_01))
                .ipv6(src: ip6("fe80::1"), dst: ip6("ff02::1:ff00:1"), hopLimit: 255)
                .icmp6(type: 135).payload(Array(repeating: 0, count: 16)).packet),
        Sample(
            note: "ARP who-has",
            packet: PacketBuilder.ethernet(destination: .broadcast)
                .arp(senderIP: ip("10.0.0.9"), targetIP: ip("10.0.0.1")).packet),
        Sample(
            note: "VLAN 100 voice (RTP over UDP)",
            packet: PacketBuilder.ethernet().vlan(id: 100, priority: 5)
                .ipv4(src: ip("10.100.0.20"), dst: ip("10.100.0.30"), tos: 0xB8)
                .udp(sourcePort: 16_384, destinationPort: 16_386).payload(Array(repeating: 0, count: 160))
                .packet),
        Sample(
            note: "VLAN 200 web traffic",
            packet: PacketBuilder.ethernet().vlan(id: 200)
                .ipv4(src: ip("10.200.0.20"), dst: ip("10.1.0.80"))
                .tcp(sourcePort: 40_004, destinationPort: 80).packet),
        Sample(
            note: "QinQ: service tag 300, customer tag 100",
            packet: PacketBuilder.ethernet().vlan(id: 300, tpid: 0x88A8).vlan(id: 100)
                .ipv4(src: ip("10.100.0.21"), dst: ip("10.100.0.31"))
                .udp(sourcePort: 5060, destinationPort: 5060).packet),
        Sample(
            note: "HTTP to the web farm, IPv4 header with options",
            packet: PacketBuilder.ethernet().ipv4(
                src: ip("192.0.2.8"), dst: ip("10.1.3.4"), options: [0x94, 0x04, 0, 0]
            )
            .tcp(sourcePort: 40_005, destinationPort: 80).packet),
        Sample(
            note: "second fragment of a datagram to port 80 (no TCP header)",
            packet: PacketBuilder.ethernet().ipv4(
                src: ip("192.0.2.9"), dst: ip("10.1.0.5"), flags: 0, fragmentOffset: 185
            )
            .tcp(sourcePort: 40_006, destinationPort: 80).packet),
        Sample(
            note: "SSH from the management network",
            packet: PacketBuilder.ethernet().ipv4(src: ip("10.9.0.2"), dst: ip("10.0.0.22"))
                .tcp(sourcePort: 50_022, destinationPort: 22).packet),
        Sample(
            note: "HTTP SYN cut to 40 bytes by the snap length",
            packet: PacketBuilder.ethernet().ipv4(src: ip("192.0.2.10"), dst: ip("10.1.0.5"))
                .tcp(sourcePort: 40_007, destinationPort: 80, flags: TCPFlags.syn).packet.truncated(to: 40)),
        Sample(
            note: "IPv6 first fragment carrying UDP to port 53",
            packet: PacketBuilder.ethernet().ipv6(src: ip6("2001:db8::9"), dst: ip6("2001:db8::53"))
                .ipv6Fragment().udp(sourcePort: 53_001, destinationPort: 53).packet),
    ]
}
