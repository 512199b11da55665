import DPFWire

/// Values filters compare against and packets carry, from small pools so that generated filters
/// often match generated packets.
public enum Pools {
    public static let ports: [UInt16] = [22, 53, 80, 443, 514, 8080, 16_384, 5060]
    public static let vlanIDs: [UInt16] = [1, 100, 200, 300, 4095]
    public static let bytes: [UInt8] = [0, 1, 2, 6, 8, 17, 58, 64, 128, 135, 255]
    public static let ipv4: [IPv4Address] = [
        IPv4Address(10, 0, 0, 1), IPv4Address(10, 0, 0, 53), IPv4Address(10, 1, 0, 5),
        IPv4Address(10, 1, 200, 9),
        IPv4Address(192, 168, 1, 1), IPv4Address(255, 255, 255, 255),
    ]
    public static let ipv6: [IPv6Address] = [
        IPv6Address("2001:db8::1")!, IPv6Address("2001:db8:2::443")!, IPv6Address("fe80::1")!,
        IPv6Address("ff02::1")!,
    ]
    public static let macs: [MACAddress] = [
        PacketBuilder.defaultSourceMAC, PacketBuilder.defaultDestinationMAC, .broadcast,
        MACAddress(0x01_00_5E_00_00_01),
    ]
}

/// A filter file in the DPF language drawn from the tape: a few apps (priorities, taps, grants
/// that let each app's packets go to the others) with a few filters each, built from protocol
/// predicates, named fields, raw loads, masks, ranges, prefixes, `and`, `or`, `not`.
public struct FilterFileGenerator {
    public var tape: Tape
    public let linkType: LinkType

    public init(tape: Tape, linkType: LinkType) {
        self.tape = tape
        self.linkType = linkType
    }

    public mutating func file() -> String {
        let apps = 1 + tape.below(4)
        var text = ""
        for app in 0..<apps {
            var header = "app a\(app)"
            if tape.chance(40) { header += " priority \(tape.pick([0, 1, 5, 10, 65535]))" }
            if tape.chance(20) { header += " tap" }
            text += header + " {\n"
            for filter in 0..<(1 + tape.below(3)) {
                text += "    f\(filter): \(expression(depth: tape.below(4)))\n"
            }
            let others = (0..<apps).filter { $0 != app }.map { "a\($0)" }
            if !others.isEmpty && tape.chance(70) {
                text += "    grant * to \(others.joined(separator: ", "))\n"
            }
            text += "}\n"
        }
        return text
    }

    public mutating func expression(depth: Int) -> String {
        if depth == 0 || tape.chance(30) { return primitive() }
        switch tape.below(5) {
        case 0: return "not (\(expression(depth: depth - 1)))"
        case 1, 2: return "(\(expression(depth: depth - 1))) or (\(expression(depth: depth - 1)))"
        default: return "(\(expression(depth: depth - 1))) and (\(expression(depth: depth - 1)))"
        }
    }

    var hasEthernet: Bool { linkType == .ethernet }
    var hasEtherType: Bool { linkType == .ethernet || linkType == .linuxCooked }

    mutating func port() -> String { tape.chance(80) ? "\(tape.pick(Pools.ports))" : "\(tape.u16())" }
    mutating func smallByte() -> String { tape.chance(80) ? "\(tape.pick(Pools.bytes))" : "\(tape.byte())" }
    mutating func relation() -> String { tape.pick(["==", "!=", "<", "<=", ">", ">="]) }

    mutating func primitive() -> String {
        switch tape.below(12) {
        case 0:
            var predicates = ["ip4", "ip6", "tcp", "udp", "icmp4", "icmp6"]
            if hasEtherType { predicates.append("arp") }
            if hasEthernet { predicates += ["eth", "vlan"] }
            return tape.pick(predicates)
        case 1:
            let field = tape.pick(["tcp.sport", "tcp.dport", "udp.sport", "udp.dport"])
            if tape.chance(25) {
                let (a, b) = (tape.pick(Pools.ports), tape.pick(Pools.ports))
                return "\(field) in \(min(a, b))..\(max(a, b))"
            }
            return "\(field) \(relation()) \(port())"
        case 2:
            let field = tape.pick([
                "ip4.proto", "ip4.ttl", "ip4.tos", "ip6.next", "ip6.hlim", "icmp4.type", "icmp4.code",
                "icmp6.type",
                "icmp6.code", "tcp.flags",
            ])
            if tape.chance(30) {
                return "\(field) & \(smallByte()) \(tape.pick(["==", "!="])) \(smallByte())"
            }
            return "\(field) \(relation()) \(smallByte())"
        case 3:
            let field = tape.pick(["ip4.src", "ip4.dst"] + (hasEtherType ? ["arp.spa", "arp.tpa"] : []))
            let address = tape.pick(Pools.ipv4)
            if tape.chance(40) {
                let length = tape.pick([0, 8, 16, 24, 31, 32])
                let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - UInt32(length))
                return "\(field) in \(IPv4Address(address.value & mask))/\(length)"
            }
            return "\(field) \(tape.pick(["==", "!="])) \(address)"
        case 4:
            let field = tape.pick(["ip6.src", "ip6.dst"])
            let address = tape.pick(Pools.ipv6)
            if tape.chance(40) {
                let length = tape.pick([16, 32, 64])
                let high = address.high & (~UInt64(0) << (64 - UInt64(length)))
                return "\(field) in \(IPv6Address(high: high, low: 0))/\(length)"
            }
            return "\(field) \(tape.pick(["==", "!="])) \(address)"
        case 5:
            guard hasEthernet else { return "ip4.frag == 0" }
            return "\(tape.pick(["eth.src", "eth.dst"])) \(tape.pick(["==", "!="])) \(tape.pick(Pools.macs))"
        case 6:
            guard hasEthernet else { return "ip4.frag \(relation()) \(tape.below(4))" }
            return "vlan.id \(tape.pick(["==", "!="])) \(tape.pick(Pools.vlanIDs))"
        case 7:
            let field = tape.pick([
                "ip4.len", "ip4.id", "ip4.frag", "ip6.flow", "tcp.seq", "tcp.ack", "tcp.win", "udp.len",
            ])
            return "\(field) \(relation()) \(tape.chance(50) ? "\(tape.below(4))" : "\(tape.u16())")"
        case 8:
            guard hasEtherType else { return "ip6.next == \(smallByte())" }
            return tape.chance(50)
                ? "arp.op == \(1 + tape.below(2))"
                : "\(hasEthernet ? "eth.type" : "ip4.proto") \(relation()) \(tape.pick(["0x0800", "0x86dd", "0x0806", "6"]))"
        default:
            // A raw load relative to a header: eth[12:2] == 0x0800, tcp[13:1] & 0x02 != 0.
            var headers = ["ip4", "ip6", "tcp", "udp", "icmp4", "icmp6"]
            if hasEthernet { headers.append("eth") }
            if hasEtherType { headers.append("arp") }
            let header = tape.pick(headers)
            let width = tape.pick([1, 2, 4])
            let offset = tape.chance(90) ? tape.below(44) : Int(tape.u16())
            let mask =
                tape.chance(30) ? " & 0x\(String(tape.u32() >> UInt32(8 * (4 - width)), radix: 16))" : ""
            let value = tape.chance(50) ? "\(tape.below(4))" : "\(tape.u32() >> UInt32(8 * (4 - width)))"
            return "\(header)[\(offset):\(width)]\(mask) \(relation()) \(value)"
        }
    }
}

/// Packets drawn from the tape for a link type: Ethernet with up to two VLAN tags (or a cooked or
/// raw header), IPv4 (options, fragments), IPv6 (a fragment header), ARP or an unknown EtherType,
/// TCP, UDP, ICMP or another protocol, values from `Pools`; some are cut short, some have a byte
/// overwritten, some are raw bytes.
public struct PacketGenerator {
    public var tape: Tape
    public let linkType: LinkType

    public init(tape: Tape, linkType: LinkType) {
        self.tape = tape
        self.linkType = linkType
    }

    mutating func port() -> UInt16 { tape.chance(80) ? tape.pick(Pools.ports) : tape.u16() }
    mutating func ipv4() -> IPv4Address { tape.chance(85) ? tape.pick(Pools.ipv4) : IPv4Address(tape.u32()) }
    mutating func ipv6() -> IPv6Address {
        tape.chance(85)
            ? tape.pick(Pools.ipv6) : IPv6Address(high: UInt64(tape.u32()) << 32, low: UInt64(tape.u32()))
    }

    public mutating func next() -> Packet {
        if tape.chance(4) {
            return Packet(bytes: (0..<tape.below(64)).map { _ in tape.byte() }, linkType: linkType)
        }
        var bytes = wellFormed().bytes
        if tape.chance(10), !bytes.isEmpty { bytes[tape.below(256) % bytes.count] = tape.byte() }
        if tape.chance(15) { bytes = Array(bytes.prefix(Int(tape.byte()) % (bytes.count + 1))) }
        return Packet(bytes: bytes, linkType: linkType)
    }

    mutating func wellFormed() -> PacketBuilder {
        var builder: PacketBuilder
        switch linkType {
        case .ethernet:
            builder = .ethernet(source: tape.pick(Pools.macs), destination: tape.pick(Pools.macs))
            for _ in 0..<tape.pick([0, 0, 0, 1, 2]) {
                let id = tape.chance(80) ? tape.pick(Pools.vlanIDs) : tape.u16() & 0x0FFF
                builder = builder.vlan(
                    id: id, priority: tape.byte() & 7, tpid: tape.pick([0x8100, 0x88A8, 0x9100]))
            }
        case .linuxCooked:
            builder = .linuxCooked()
        case .raw, .ipv4, .ipv6:
            builder = .raw()
        }
        var networks = [0, 1]
        if linkType == .ipv4 { networks = [0] }
        if linkType == .ipv6 { networks = [1] }
        if linkType == .ethernet || linkType == .linuxCooked { networks += [0, 1, 2, 3] }
        switch tape.pick(networks) {
        case 0:
            let options = tape.chance(20) ? (0..<(4 * (1 + tape.below(3)))).map { _ in tape.byte() } : []
            builder = builder.ipv4(
                src: ipv4(), dst: ipv4(), ttl: tape.pick([1, 64, 255, tape.byte()]), tos: tape.byte(),
                identification: tape.u16(), flags: tape.byte() & 7,
                fragmentOffset: tape.chance(15) ? 1 + tape.u16() % 0x1FFF : 0, options: options)
            return transport(builder, ipv6: false)
        case 1:
            builder = builder.ipv6(
                src: ipv6(), dst: ipv6(), hopLimit: tape.pick([1, 64, 255]), trafficClass: tape.byte(),
                flowLabel: tape.u32() & 0xF_FFFF)
            if tape.chance(15) { builder = builder.ipv6Fragment(offset: tape.pick([0, 0, 1, 100])) }
            return transport(builder, ipv6: true)
        case 2:
            return builder.arp(operation: UInt16(1 + tape.below(2)), senderIP: ipv4(), targetIP: ipv4())
        default:
            return builder.payload(
                (0..<tape.below(40)).map { _ in tape.byte() },
                etherType: tape.pick([0x0800, 0x86DD, 0x0806, 0x88CC, 0x8100]))
        }
    }

    mutating func transport(_ builder: PacketBuilder, ipv6: Bool) -> PacketBuilder {
        let payload = (0..<tape.below(24)).map { _ in tape.byte() }
        switch tape.below(8) {
        case 0..<3:
            return builder.tcp(
                sourcePort: port(), destinationPort: port(), flags: tape.byte(), sequence: tape.u32(),
                acknowledgment: tape.u32(), window: tape.u16()
            ).payload(payload)
        case 3..<6:
            return builder.udp(sourcePort: port(), destinationPort: port()).payload(payload)
        case 6:
            return ipv6
                ? builder.icmp6(type: tape.pick([128, 129, 135, 136, tape.byte()]), code: tape.byte())
                    .payload(payload)
                : builder.icmp4(type: tape.pick([0, 3, 8, 11, tape.byte()]), code: tape.byte()).payload(
                    payload)
        default:
            return builder.payload(payload, ipProtocol: tape.pick([47, 50, 89, tape.byte()]))
        }
    }
}
