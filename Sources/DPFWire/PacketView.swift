/// A zero-copy view that finds a packet's headers once and reads named fields through `FieldTable`.
///
/// The view follows the usual decode: Ethernet (or the link type's own header), any number of VLAN
/// tags, then IPv4, IPv6 or ARP, then TCP, UDP or ICMP when the transport header starts in the first
/// fragment (IPv4) or directly after the fixed header (IPv6). A header is present only if all of its
/// minimum length was captured.
public struct PacketView: Sendable {
    public let packet: Packet
    /// Start of each header found, by header; VLAN tags are in `vlanTags`.
    public private(set) var headerStarts: [Header: Int] = [:]
    /// Start of each VLAN tag (at its TPID), outermost first.
    public private(set) var vlanTags: [Int] = []

    public init(_ packet: Packet) {
        self.packet = packet
        decode()
    }

    public var bytes: [UInt8] { packet.bytes }

    public func has(_ header: Header) -> Bool { headerStarts[header] != nil }

    /// The value of a named field of up to 8 bytes, or `nil` when its header is absent or cut short.
    /// `vlan.*` fields read the outermost tag; `eth.type` reads the EtherType after all tags.
    public func value(of field: FieldDescriptor) -> UInt64? {
        if field.followsVLANTags {
            guard let offset = packet.linkType.layout.etherTypeOffset(vlanDepth: vlanTags.count) else {
                return nil
            }
            return field.read(from: bytes, headerStart: offset - field.offset)
        }
        let start = field.header == .vlan ? vlanTags.first : headerStarts[field.header]
        return start.flatMap { field.read(from: bytes, headerStart: $0) }
    }

    public func value(of name: String) -> UInt64? {
        FieldTable.field(named: name).flatMap(value(of:))
    }

    /// An IPv6 address field (`ip6.src`, `ip6.dst`), or `nil` when the header is absent.
    public func ipv6Address(_ name: String) -> IPv6Address? {
        guard let field = FieldTable.field(named: name), field.kind == .ipv6Address,
            let start = headerStarts[.ip6],
            let raw = field.bytes(from: bytes, headerStart: start)
        else { return nil }
        return IPv6Address(bytes: Array(raw))
    }

    private func fits(_ header: Header, at start: Int) -> Bool { start + header.minimumLength <= bytes.count }

    private mutating func decode() {
        let layout = packet.linkType.layout
        if layout.hasEthernetHeader {
            guard fits(.eth, at: 0) else { return }
            headerStarts[.eth] = 0
            let tpid = FieldTable.field(.vlan, "tpid")
            var tag = layout.vlanTagOffset(depth: 1)
            while tag + 4 + 2 <= bytes.count, let value = tpid.read(from: bytes, headerStart: tag),
                EtherType.vlanTags.contains(UInt16(value))
            {
                vlanTags.append(tag)
                tag += VLANLayout.tagLength
            }
        }
        let network = layout.networkOffset(vlanDepth: vlanTags.count)
        switch networkProtocol(layout: layout, networkStart: network) {
        case .ip4?:
            decodeIPv4(at: network)
        case .ip6?:
            decodeIPv6(at: network)
        case .arp?:
            if fits(.arp, at: network) { headerStarts[.arp] = network }
        default:
            break
        }
    }

    private func networkProtocol(layout: LinkLayout, networkStart: Int) -> Header? {
        if let typeOffset = layout.etherTypeOffset(vlanDepth: vlanTags.count) {
            guard typeOffset + 2 <= bytes.count else { return nil }
            switch UInt16(bytes[typeOffset]) << 8 | UInt16(bytes[typeOffset + 1]) {
            case EtherType.ipv4: return .ip4
            case EtherType.ipv6: return .ip6
            case EtherType.arp: return .arp
            default: return nil
            }
        }
        switch packet.linkType {
        case .ipv4: return .ip4
        case .ipv6: return .ip6
        default:
            guard networkStart < bytes.count else { return nil }
            switch bytes[networkStart] >> 4 {
            case 4: return .ip4
            case 6: return .ip6
            default: return nil
            }
        }
    }

    private mutating func decodeIPv4(at start: Int) {
        guard fits(.ip4, at: start) else { return }
        headerStarts[.ip4] = start
        let bytes = self.bytes
        let value = { (name: String) in FieldTable.field(.ip4, name).read(from: bytes, headerStart: start)! }
        guard value("frag") == 0 else { return }
        let transport = start + IPv4Layout.headerLengthScale * Int(value("ihl"))
        decodeTransport(protocol: UInt8(value("proto")), at: transport, network: .ip4)
    }

    private mutating func decodeIPv6(at start: Int) {
        guard fits(.ip6, at: start) else { return }
        headerStarts[.ip6] = start
        let next = FieldTable.field(.ip6, "next").read(from: bytes, headerStart: start)!
        decodeTransport(protocol: UInt8(next), at: start + IPv6Layout.fixedHeaderLength, network: .ip6)
    }

    private mutating func decodeTransport(protocol number: UInt8, at start: Int, network: Header) {
        guard
            let header = [Header.tcp, .udp, .icmp4, .icmp6].first(where: {
                $0.ipProtocol == number && ($0.requiredNetwork ?? network) == network
            }), fits(header, at: start)
        else { return }
        headerStarts[header] = start
    }
}
