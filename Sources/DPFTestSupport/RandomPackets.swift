import DPFWire

/// Random packets shaped so that random filters often match them: values come from small pools
/// (a few ports, prefixes, VLAN ids) mixed with uniformly random ones; some packets are cut short,
/// some have a byte flipped, some are random bytes.
public struct RandomPackets {
    public static let ports: [UInt16] = [22, 53, 80, 443, 514, 8080, 16_384, 5060]
    public static let vlanIDs: [UInt16] = [1, 100, 200, 300, 4095]
    public static let ipv4Pool: [IPv4Address] = [
        IPv4Address(10, 0, 0, 1), IPv4Address(10, 0, 0, 53), IPv4Address(10, 1, 0, 5),
        IPv4Address(10, 1, 200, 9),
        IPv4Address(192, 0, 2, 7), IPv4Address(192, 168, 1, 1), IPv4Address(255, 255, 255, 255),
    ]
    public static let ipv6Pool: [IPv6Address] = [
        IPv6Address("2001:db8::1")!, IPv6Address("2001:db8:2::443")!, IPv6Address("fe80::1")!,
        IPv6Address("ff02::1")!, IPv6Address("::1")!,
    ]
    public static let macPool: [MACAddress] = [
        PacketBuilder.defaultSourceMAC, PacketBuilder.defaultDestinationMAC, .broadcast,
        MACAddress(0x01_00_5E_00_00_01),
    ]

    public var generator: SeededGenerator
    /// Share of packets cut at a random length.
    public var truncationRate = 0.15
    /// Share of packets with one random byte overwritten.
    public var corruptionRate = 0.1

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public mutating func next() -> Packet {
        if generator.chance(0.03) {
            let length = Int.random(in: 0..<80, using: &generator)
            return Packet(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        var packet = wellFormed()
        if generator.chance(corruptionRate), !packet.bytes.isEmpty {
            let index = Int.random(in: 0..<packet.bytes.count, using: &generator)
            packet.bytes[index] = UInt8.random(in: 0...255, using: &generator)
        }
        if generator.chance(truncationRate) {
            packet = packet.truncated(to: Int.random(in: 0...packet.bytes.count, using: &generator))
        }
        return packet
    }

    public mutating func batch(_ count: Int) -> [Packet] { (0..<count).map { _ in next() } }

    private mutating func port() -> UInt16 {
        generator.chance(0.7)
            ? generator.pick(RandomPackets.ports) : UInt16.random(in: 0...UInt16.max, using: &generator)
    }

    private mutating func ipv4() -> IPv4Address {
        generator.chance(0.8)
            ? generator.pick(RandomPackets.ipv4Pool)
            : IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))
    }

    private mutating func ipv6() -> IPv6Address {
        generator.chance(0.8)
            ? generator.pick(RandomPackets.ipv6Pool)
            : IPv6Address(
                high: UInt64.random(in: 0...UInt64.max, using: &generator),
                low: UInt64.random(in: 0...UInt64.max, using: &generator))
    }

    private mutating func byte() -> UInt8 { UInt8.random(in: 0...255, using: &generator) }

    private mutating func wellFormed() -> Packet {
        var builder = PacketBuilder.ethernet(
            source: generator.pick(RandomPackets.macPool), destination: generator.pick(RandomPackets.macPool))
        let tags = generator.pick([0, 0, 0, 1, 1, 2])
        for _ in 0..<tags {
            let id =
                generator.chance(0.8)
                ? generator.pick(RandomPackets.vlanIDs) : UInt16.random(in: 0...4095, using: &generator)
            builder = builder.vlan(
                id: id, priority: UInt8.random(in: 0...7, using: &generator),
                tpid: generator.pick(EtherType.vlanTags))
        }
        switch Int.random(in: 0..<10, using: &generator) {
        case 0..<5:
            let options =
                generator.chance(0.2)
                ? (0..<(4 * Int.random(in: 1...3, using: &generator))).map { _ in byte() } : []
            let fragment: UInt16 =
                generator.chance(0.15) ? UInt16.random(in: 1...0x1FFF, using: &generator) : 0
            builder = builder.ipv4(
                src: ipv4(), dst: ipv4(), ttl: generator.pick([1, 64, 128, 255, byte()]), tos: byte(),
                identification: UInt16.random(in: 0...UInt16.max, using: &generator),
                flags: UInt8.random(in: 0...7, using: &generator),
                fragmentOffset: fragment, options: options)
            return transport(builder, ipv6: false).packet
        case 5..<8:
            builder = builder.ipv6(
                src: ipv6(), dst: ipv6(), hopLimit: generator.pick([1, 64, 255]), trafficClass: byte(),
                flowLabel: UInt32.random(in: 0...0xF_FFFF, using: &generator))
            if generator.chance(0.15) {
                builder = builder.ipv6Fragment(offset: generator.pick([0, 0, 1, 100]))
            }
            return transport(builder, ipv6: true).packet
        case 8:
            return builder.arp(operation: generator.pick([1, 2]), senderIP: ipv4(), targetIP: ipv4()).packet
        default:
            let etherType: UInt16 = generator.pick([0x0800, 0x86DD, 0x0806, 0x88CC, 0x8100])
            return builder.payload(
                (0..<Int.random(in: 0...60, using: &generator)).map { _ in byte() }, etherType: etherType
            ).packet
        }
    }

    private mutating func transport(_ builder: PacketBuilder, ipv6: Bool) -> PacketBuilder {
        let payload = (0..<Int.random(in: 0...24, using: &generator)).map { _ in byte() }
        switch Int.random(in: 0..<8, using: &generator) {
        case 0..<3:
            return builder.tcp(
                sourcePort: port(), destinationPort: port(), flags: byte(),
                sequence: UInt32.random(in: 0...UInt32.max, using: &generator),
                acknowledgment: UInt32.random(in: 0...UInt32.max, using: &generator),
                window: UInt16.random(in: 0...UInt16.max, using: &generator)
            ).payload(payload)
        case 3..<6:
            return builder.udp(sourcePort: port(), destinationPort: port()).payload(payload)
        case 6:
            return ipv6
                ? builder.icmp6(type: generator.pick([128, 129, 135, 136, byte()]), code: byte()).payload(
                    payload)
                : builder.icmp4(type: generator.pick([0, 3, 8, 11, byte()]), code: byte()).payload(payload)
        default:
            return builder.payload(payload, ipProtocol: generator.pick([47, 50, 89, byte()]))
        }
    }
}

extension Packet {
    /// The same packet on another link type: its Ethernet header replaced by a Linux cooked header,
    /// or removed for raw IP (which carries only IPv4 and IPv6). `nil` if it cannot be carried.
    public func relinked(as target: LinkType) -> Packet? {
        let ethernet = LinkType.ethernet.layout
        guard linkType == .ethernet, bytes.count >= ethernet.headerLength,
            let etherType = FieldTable.field(.eth, "type").read(from: bytes, headerStart: 0)
        else { return nil }
        let payload = Array(bytes[ethernet.headerLength...])
        let wire = originalLength - ethernet.headerLength
        switch target {
        case .ethernet:
            return self
        case .linuxCooked:
            // Packet type "to us", ARPHRD_ETHER, the source address padded to 8 bytes, the protocol.
            let source = FieldTable.field(.eth, "src")
            var header = [UInt8](repeating: 0, count: LinuxCookedLayout.headerLength)
            ByteOrder.storeBigEndian(
                LinuxCookedLayout.ethernetDeviceType, into: &header, at: LinuxCookedLayout.deviceTypeOffset)
            ByteOrder.storeBigEndian(
                UInt16(source.width), into: &header, at: LinuxCookedLayout.addressLengthOffset)
            header.replaceSubrange(
                LinuxCookedLayout.addressOffset..<(LinuxCookedLayout.addressOffset + source.width),
                with: source.bytes(from: bytes, headerStart: 0)!)
            ByteOrder.storeBigEndian(UInt16(etherType), into: &header, at: LinuxCookedLayout.protocolOffset)
            return Packet(
                bytes: header + payload, originalLength: wire + LinuxCookedLayout.headerLength,
                linkType: .linuxCooked)
        case .raw:
            guard etherType == EtherType.ipv4 || etherType == EtherType.ipv6 else { return nil }
            return Packet(bytes: payload, originalLength: wire, linkType: .raw)
        case .ipv4, .ipv6:
            let wanted = target == .ipv4 ? EtherType.ipv4 : EtherType.ipv6
            guard etherType == wanted else { return nil }
            return Packet(bytes: payload, originalLength: wire, linkType: target)
        case .linuxCooked2:
            // The protocol, ARPHRD_ETHER, packet type "to us", the source address padded to 8 bytes.
            let source = FieldTable.field(.eth, "src")
            var header = [UInt8](repeating: 0, count: LinuxCooked2Layout.headerLength)
            ByteOrder.storeBigEndian(UInt16(etherType), into: &header, at: LinuxCooked2Layout.protocolOffset)
            ByteOrder.storeBigEndian(
                LinuxCookedLayout.ethernetDeviceType, into: &header, at: LinuxCooked2Layout.deviceTypeOffset)
            header[LinuxCooked2Layout.addressLengthOffset] = UInt8(source.width)
            header.replaceSubrange(
                LinuxCooked2Layout.addressOffset..<(LinuxCooked2Layout.addressOffset + source.width),
                with: source.bytes(from: bytes, headerStart: 0)!)
            return Packet(
                bytes: header + payload, originalLength: wire + LinuxCooked2Layout.headerLength,
                linkType: .linuxCooked2)
        case .null, .loop:
            // IPv4 and IPv6 only; NULL in a little-endian machine's byte order, LOOP in network order.
            // IPv6 as Darwin numbers it.
            let family: UInt32
            switch UInt16(etherType) {
            case EtherType.ipv4: family = LoopbackLayout.ipv4Family
            case EtherType.ipv6: family = LoopbackLayout.ipv6Families.last!
            default: return nil
            }
            var header = [UInt8](repeating: 0, count: LoopbackLayout.headerLength)
            ByteOrder.storeBigEndian(target == .loop ? family : family.byteSwapped, into: &header, at: 0)
            return Packet(
                bytes: header + payload, originalLength: wire + LoopbackLayout.headerLength, linkType: target)
        }
    }
}
