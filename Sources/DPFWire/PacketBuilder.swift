/// Builds well-formed packets layer by layer for tests, demos and the traffic synthesiser.
///
/// Every header is written through `FieldTable`, and each header's "next protocol" field (EtherType,
/// IPv4 protocol, IPv6 next header) and length field is filled in from the layers around it:
///
///     let packet = PacketBuilder.ethernet()
///         .vlan(id: 10)
///         .ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 1, 0, 5))
///         .tcp(sourcePort: 40_000, destinationPort: 80, flags: TCPFlags.syn)
///         .packet
public struct PacketBuilder: Sendable {
    public enum Layer: Sendable, Hashable {
        case ethernet(source: MACAddress, destination: MACAddress)
        case linuxCooked
        case linuxCooked2
        /// A BSD loopback header (NULL in little-endian byte order, or LOOP): the address family
        /// of the next layer, AF_INET or Darwin's AF_INET6.
        case loopback(networkByteOrder: Bool)
        case vlan(tpid: UInt16, priority: UInt8, id: UInt16)
        case ipv4(IPv4Options)
        case ipv6(IPv6Options)
        case ipv6Fragment(offset: UInt16, moreFragments: Bool, identification: UInt32)
        case arp(
            operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress,
            targetIP: IPv4Address)
        case tcp(
            sourcePort: UInt16, destinationPort: UInt16, flags: UInt8, sequence: UInt32,
            acknowledgment: UInt32, window: UInt16)
        case udp(sourcePort: UInt16, destinationPort: UInt16)
        case icmp4(type: UInt8, code: UInt8)
        case icmp6(type: UInt8, code: UInt8)
        /// Bytes after the last header; an `etherType`/`ipProtocol` lets them stand for an unknown protocol.
        case payload([UInt8], etherType: UInt16? = nil, ipProtocol: UInt8? = nil)
    }

    public struct IPv4Options: Sendable, Hashable {
        public var source: IPv4Address
        public var destination: IPv4Address
        public var ttl: UInt8 = 64
        public var tos: UInt8 = 0
        public var identification: UInt16 = 1
        public var flags: UInt8 = 0b010
        public var fragmentOffset: UInt16 = 0
        /// Option bytes, padded with end-of-list (0) to a multiple of four.
        public var options: [UInt8] = []
        /// Overrides the protocol number that the next layer implies.
        public var protocolNumber: UInt8? = nil
    }

    public struct IPv6Options: Sendable, Hashable {
        public var source: IPv6Address
        public var destination: IPv6Address
        public var hopLimit: UInt8 = 64
        public var trafficClass: UInt8 = 0
        public var flowLabel: UInt32 = 0
        public var nextHeader: UInt8? = nil
    }

    public private(set) var layers: [Layer]
    public private(set) var linkType: LinkType

    private init(linkType: LinkType, layers: [Layer]) {
        self.linkType = linkType
        self.layers = layers
    }

    public static let defaultSourceMAC = MACAddress(0x02_00_00_00_00_01)
    public static let defaultDestinationMAC = MACAddress(0x02_00_00_00_00_02)

    public static func ethernet(
        source: MACAddress = defaultSourceMAC, destination: MACAddress = defaultDestinationMAC
    ) -> PacketBuilder {
        PacketBuilder(linkType: .ethernet, layers: [.ethernet(source: source, destination: destination)])
    }

    /// A Linux cooked-capture (SLL) frame: `LinuxCookedLayout.headerLength` bytes ending in the
    /// EtherType.
    public static func linuxCooked() -> PacketBuilder {
        PacketBuilder(linkType: .linuxCooked, layers: [.linuxCooked])
    }

    /// A Linux cooked-capture v2 (SLL2) frame: `LinuxCooked2Layout.headerLength` bytes starting
    /// with the EtherType.
    public static func linuxCooked2() -> PacketBuilder {
        PacketBuilder(linkType: .linuxCooked2, layers: [.linuxCooked2])
    }

    /// A BSD loopback frame, `.null` (the family little-endian, as on x86 and ARM) or `.loop`.
    public static func loopback(_ linkType: LinkType = .null) -> PacketBuilder {
        precondition(linkType == .null || linkType == .loop, "loopback frames are NULL or LOOP")
        return PacketBuilder(linkType: linkType, layers: [.loopback(networkByteOrder: linkType == .loop)])
    }

    /// A raw IP packet (LINKTYPE_RAW): the first byte is the IP version nibble.
    public static func raw() -> PacketBuilder { PacketBuilder(linkType: .raw, layers: []) }

    public func adding(_ layer: Layer) -> PacketBuilder {
        PacketBuilder(linkType: linkType, layers: layers + [layer])
    }

    public func vlan(id: UInt16, priority: UInt8 = 0, tpid: UInt16 = 0x8100) -> PacketBuilder {
        adding(.vlan(tpid: tpid, priority: priority, id: id))
    }

    public func ipv4(
        src: IPv4Address, dst: IPv4Address, ttl: UInt8 = 64, tos: UInt8 = 0, identification: UInt16 = 1,
        flags: UInt8 = 0b010, fragmentOffset: UInt16 = 0, options: [UInt8] = [], protocolNumber: UInt8? = nil
    ) -> PacketBuilder {
        adding(
            .ipv4(
                IPv4Options(
                    source: src, destination: dst, ttl: ttl, tos: tos, identification: identification,
                    flags: flags, fragmentOffset: fragmentOffset, options: options,
                    protocolNumber: protocolNumber)))
    }

    public func ipv6(
        src: IPv6Address, dst: IPv6Address, hopLimit: UInt8 = 64, trafficClass: UInt8 = 0,
        flowLabel: UInt32 = 0,
        nextHeader: UInt8? = nil
    ) -> PacketBuilder {
        adding(
            .ipv6(
                IPv6Options(
                    source: src, destination: dst, hopLimit: hopLimit, trafficClass: trafficClass,
                    flowLabel: flowLabel, nextHeader: nextHeader)))
    }

    public func ipv6Fragment(offset: UInt16 = 0, moreFragments: Bool = true, identification: UInt32 = 1)
        -> PacketBuilder
    {
        adding(.ipv6Fragment(offset: offset, moreFragments: moreFragments, identification: identification))
    }

    public func arp(
        operation: UInt16 = 1, senderMAC: MACAddress = defaultSourceMAC, senderIP: IPv4Address,
        targetMAC: MACAddress = MACAddress(0), targetIP: IPv4Address
    ) -> PacketBuilder {
        adding(
            .arp(
                operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC,
                targetIP: targetIP))
    }

    public func tcp(
        sourcePort: UInt16, destinationPort: UInt16, flags: UInt8 = TCPFlags.ack, sequence: UInt32 = 1,
        acknowledgment: UInt32 = 0, window: UInt16 = 65535
    ) -> PacketBuilder {
        adding(
            .tcp(
                sourcePort: sourcePort, destinationPort: destinationPort, flags: flags, sequence: sequence,
                acknowledgment: acknowledgment, window: window))
    }

    public func udp(sourcePort: UInt16, destinationPort: UInt16) -> PacketBuilder {
        adding(.udp(sourcePort: sourcePort, destinationPort: destinationPort))
    }

    public func icmp4(type: UInt8, code: UInt8 = 0) -> PacketBuilder {
        adding(.icmp4(type: type, code: code))
    }

    public func icmp6(type: UInt8, code: UInt8 = 0) -> PacketBuilder {
        adding(.icmp6(type: type, code: code))
    }

    public func payload(_ bytes: [UInt8], etherType: UInt16? = nil, ipProtocol: UInt8? = nil) -> PacketBuilder
    {
        adding(.payload(bytes, etherType: etherType, ipProtocol: ipProtocol))
    }

    /// The finished packet, fully captured.
    public var packet: Packet { Packet(bytes: bytes, linkType: linkType) }

    /// The finished packet's bytes.
    public var bytes: [UInt8] {
        var output: [UInt8] = []
        var lengthFixups: [(field: FieldDescriptor, headerStart: Int, lengthFrom: Int, adjust: Int)] = []
        var ipv4Header: Int?
        for (index, layer) in layers.enumerated() {
            let next = index + 1 < layers.count ? layers[index + 1] : nil
            let start = output.count
            output += serialize(layer, next: next)
            switch layer {
            case .ipv4:
                ipv4Header = start
                lengthFixups.append((FieldTable.field(.ip4, "len"), start, start, 0))
            case .ipv6:
                lengthFixups.append(
                    (FieldTable.field(.ip6, "plen"), start, start, -IPv6Layout.fixedHeaderLength))
            case .udp:
                lengthFixups.append((FieldTable.field(.udp, "len"), start, start, 0))
            default:
                break
            }
        }
        for fixup in lengthFixups {
            let length = output.count - fixup.lengthFrom + fixup.adjust
            fixup.field.write(UInt64(min(length, 0xFFFF)), into: &output, headerStart: fixup.headerStart)
        }
        if let start = ipv4Header { PacketBuilder.fillIPv4Checksum(&output, headerStart: start) }
        return output
    }

    private func serialize(_ layer: Layer, next: Layer?) -> [UInt8] {
        switch layer {
        case .ethernet(let source, let destination):
            var header = [UInt8](repeating: 0, count: Header.eth.minimumLength)
            FieldTable.field(.eth, "dst").write(bytes: destination.bytes, into: &header, headerStart: 0)
            FieldTable.field(.eth, "src").write(bytes: source.bytes, into: &header, headerStart: 0)
            FieldTable.field(.eth, "type").write(
                UInt64(PacketBuilder.etherType(of: next)), into: &header, headerStart: 0)
            return header
        case .linuxCooked:
            // SLL: packet type (0, to us), device type, address length, address (left zero), protocol.
            var header = [UInt8](repeating: 0, count: LinuxCookedLayout.headerLength)
            ByteOrder.storeBigEndian(
                LinuxCookedLayout.ethernetDeviceType, into: &header, at: LinuxCookedLayout.deviceTypeOffset)
            ByteOrder.storeBigEndian(
                UInt16(FieldTable.field(.eth, "src").width), into: &header,
                at: LinuxCookedLayout.addressLengthOffset)
            ByteOrder.storeBigEndian(
                PacketBuilder.etherType(of: next), into: &header, at: LinuxCookedLayout.protocolOffset)
            return header
        case .linuxCooked2:
            // Protocol, reserved, interface index 0, ARPHRD_ETHER, packet type 0 (to us), address
            // length, address (left zero).
            var header = [UInt8](repeating: 0, count: LinuxCooked2Layout.headerLength)
            ByteOrder.storeBigEndian(
                PacketBuilder.etherType(of: next), into: &header, at: LinuxCooked2Layout.protocolOffset)
            ByteOrder.storeBigEndian(
                LinuxCookedLayout.ethernetDeviceType, into: &header, at: LinuxCooked2Layout.deviceTypeOffset)
            header[LinuxCooked2Layout.addressLengthOffset] = UInt8(FieldTable.field(.eth, "src").width)
            return header
        case .loopback(let networkByteOrder):
            let family =
                PacketBuilder.etherType(of: next) == EtherType.ipv6
                ? LoopbackLayout.ipv6Families.last! : LoopbackLayout.ipv4Family
            var header = [UInt8](repeating: 0, count: LoopbackLayout.headerLength)
            ByteOrder.storeBigEndian(networkByteOrder ? family : family.byteSwapped, into: &header, at: 0)
            return header
        case .vlan(let tpid, let priority, let id):
            // In the frame the tag's TPID sits where the EtherType was; the builder wrote that as the
            // previous layer's next-protocol field, so emit the TCI and the inner EtherType here.
            let tpidField = FieldTable.field(.vlan, "tpid")
            var tag = [UInt8](repeating: 0, count: VLANLayout.tagLength + tpidField.width)
            tpidField.write(UInt64(tpid), into: &tag, headerStart: 0)
            FieldTable.field(.vlan, "pcp").write(UInt64(priority), into: &tag, headerStart: 0)
            FieldTable.field(.vlan, "id").write(UInt64(id), into: &tag, headerStart: 0)
            ByteOrder.storeBigEndian(PacketBuilder.etherType(of: next), into: &tag, at: VLANLayout.tagLength)
            return Array(tag[(tpidField.offset + tpidField.width)...])
        case .ipv4(let options):
            return serializeIPv4(options, next: next)
        case .ipv6(let options):
            var header = [UInt8](repeating: 0, count: Header.ip6.minimumLength)
            let field = { (name: String) in FieldTable.field(.ip6, name) }
            field("version").write(6, into: &header, headerStart: 0)
            field("tclass").write(UInt64(options.trafficClass), into: &header, headerStart: 0)
            field("flow").write(UInt64(options.flowLabel & 0xF_FFFF), into: &header, headerStart: 0)
            field("next").write(
                UInt64(options.nextHeader ?? PacketBuilder.ipProtocol(of: next)), into: &header,
                headerStart: 0)
            field("hlim").write(UInt64(options.hopLimit), into: &header, headerStart: 0)
            field("src").write(bytes: options.source.bytes, into: &header, headerStart: 0)
            field("dst").write(bytes: options.destination.bytes, into: &header, headerStart: 0)
            return header
        case .ipv6Fragment(let offset, let more, let identification):
            var header = [UInt8](repeating: 0, count: IPv6Layout.fragmentHeaderLength)
            header[IPv6Layout.extensionNextHeaderOffset] = PacketBuilder.ipProtocol(of: next)
            let offsetAndFlag = offset << IPv6Layout.fragmentOffsetShift | (more ? 1 : 0)
            ByteOrder.storeBigEndian(offsetAndFlag, into: &header, at: IPv6Layout.fragmentOffsetOffset)
            ByteOrder.storeBigEndian(
                identification, into: &header, at: IPv6Layout.fragmentIdentificationOffset)
            return header
        case .arp(let operation, let senderMAC, let senderIP, let targetMAC, let targetIP):
            var header = [UInt8](repeating: 0, count: Header.arp.minimumLength)
            let field = { (name: String) in FieldTable.field(.arp, name) }
            field("htype").write(1, into: &header, headerStart: 0)
            field("ptype").write(UInt64(EtherType.ipv4), into: &header, headerStart: 0)
            field("hlen").write(6, into: &header, headerStart: 0)
            field("plen").write(4, into: &header, headerStart: 0)
            field("op").write(UInt64(operation), into: &header, headerStart: 0)
            field("sha").write(bytes: senderMAC.bytes, into: &header, headerStart: 0)
            field("spa").write(UInt64(senderIP.value), into: &header, headerStart: 0)
            field("tha").write(bytes: targetMAC.bytes, into: &header, headerStart: 0)
            field("tpa").write(UInt64(targetIP.value), into: &header, headerStart: 0)
            return header
        case .tcp(
            let sourcePort, let destinationPort, let flags, let sequence, let acknowledgment, let window):
            var header = [UInt8](repeating: 0, count: Header.tcp.minimumLength)
            let field = { (name: String) in FieldTable.field(.tcp, name) }
            field("sport").write(UInt64(sourcePort), into: &header, headerStart: 0)
            field("dport").write(UInt64(destinationPort), into: &header, headerStart: 0)
            field("seq").write(UInt64(sequence), into: &header, headerStart: 0)
            field("ack").write(UInt64(acknowledgment), into: &header, headerStart: 0)
            field("off").write(UInt64(Header.tcp.minimumLength / 4), into: &header, headerStart: 0)
            field("flags").write(UInt64(flags), into: &header, headerStart: 0)
            field("win").write(UInt64(window), into: &header, headerStart: 0)
            return header
        case .udp(let sourcePort, let destinationPort):
            var header = [UInt8](repeating: 0, count: Header.udp.minimumLength)
            FieldTable.field(.udp, "sport").write(UInt64(sourcePort), into: &header, headerStart: 0)
            FieldTable.field(.udp, "dport").write(UInt64(destinationPort), into: &header, headerStart: 0)
            return header
        case .icmp4(let type, let code):
            var header = [UInt8](repeating: 0, count: Header.icmp4.minimumLength)
            FieldTable.field(.icmp4, "type").write(UInt64(type), into: &header, headerStart: 0)
            FieldTable.field(.icmp4, "code").write(UInt64(code), into: &header, headerStart: 0)
            return header
        case .icmp6(let type, let code):
            var header = [UInt8](repeating: 0, count: Header.icmp6.minimumLength)
            FieldTable.field(.icmp6, "type").write(UInt64(type), into: &header, headerStart: 0)
            FieldTable.field(.icmp6, "code").write(UInt64(code), into: &header, headerStart: 0)
            return header
        case .payload(let bytes, _, _):
            return bytes
        }
    }

    private func serializeIPv4(_ options: IPv4Options, next: Layer?) -> [UInt8] {
        var optionBytes = options.options
        while optionBytes.count % 4 != 0 { optionBytes.append(0) }
        precondition(optionBytes.count <= 40, "IPv4 options are at most 40 bytes")
        var header = [UInt8](repeating: 0, count: Header.ip4.minimumLength) + optionBytes
        let field = { (name: String) in FieldTable.field(.ip4, name) }
        field("version").write(4, into: &header, headerStart: 0)
        field("ihl").write(UInt64(header.count / IPv4Layout.headerLengthScale), into: &header, headerStart: 0)
        field("tos").write(UInt64(options.tos), into: &header, headerStart: 0)
        field("id").write(UInt64(options.identification), into: &header, headerStart: 0)
        field("flags").write(UInt64(options.flags & 0b111), into: &header, headerStart: 0)
        field("frag").write(UInt64(options.fragmentOffset & 0x1FFF), into: &header, headerStart: 0)
        field("ttl").write(UInt64(options.ttl), into: &header, headerStart: 0)
        field("proto").write(
            UInt64(options.protocolNumber ?? PacketBuilder.ipProtocol(of: next)), into: &header,
            headerStart: 0)
        field("src").write(UInt64(options.source.value), into: &header, headerStart: 0)
        field("dst").write(UInt64(options.destination.value), into: &header, headerStart: 0)
        return header
    }

    private static func etherType(of next: Layer?) -> UInt16 {
        switch next {
        case .vlan(let tpid, _, _)?: return tpid
        case .ipv4?: return EtherType.ipv4
        case .ipv6?: return EtherType.ipv6
        case .arp?: return EtherType.arp
        case .payload(_, let etherType, _)?: return etherType ?? 0x88B5  // IEEE local experimental
        default: return 0x88B5
        }
    }

    private static func ipProtocol(of next: Layer?) -> UInt8 {
        switch next {
        case .tcp?: return IPProtocol.tcp
        case .udp?: return IPProtocol.udp
        case .icmp4?: return IPProtocol.icmp4
        case .icmp6?: return IPProtocol.icmp6
        case .ipv6Fragment?: return IPProtocol.ipv6Fragment
        case .payload(_, _, let ipProtocol)?: return ipProtocol ?? 253  // RFC 3692 experimental
        default: return 59  // IPv6 "no next header"
        }
    }

    private static func fillIPv4Checksum(_ bytes: inout [UInt8], headerStart: Int) {
        let checksum = FieldTable.field(.ip4, "sum")
        let ihl = FieldTable.field(.ip4, "ihl").read(from: bytes, headerStart: headerStart)!
        let length = IPv4Layout.headerLengthScale * Int(ihl)
        checksum.write(0, into: &bytes, headerStart: headerStart)
        var sum: UInt32 = 0
        for index in stride(from: headerStart, to: headerStart + length, by: 2) {
            sum += PacketLoad.bigEndian(bytes, at: index, width: 2)!
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        checksum.write(UInt64(~sum & 0xFFFF), into: &bytes, headerStart: headerStart)
    }
}

/// TCP flag bits as they appear in `tcp.flags`.
public enum TCPFlags {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
    public static let urg: UInt8 = 0x20
}
