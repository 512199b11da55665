import DPFWire

/// The atoms that establish "this packet carries protocol P" on one link type, and where P's header
/// then starts. All offsets come from `DPFWire`; this type only composes them, following libpcap's
/// code generator wherever tcpdump has the same primitive.
struct ProtocolGuards {
    let layout: LinkLayout

    /// A way to reach a header: the atoms that must hold, and the base and offset of its first byte.
    struct HeaderAccess {
        var guardTree: FilterTree
        var base: HeaderBase
        var offset: Int
    }

    private func byte(_ offset: Int, base: HeaderBase = .packetStart, equals value: UInt8) -> FilterTree {
        .atom(Atom(base: base, offset: offset, width: 1, value: UInt32(value)))
    }

    private func field(_ field: FieldDescriptor, at headerStart: Int, equals value: UInt64) -> FilterTree {
        .atom(
            Atom(
                offset: headerStart + field.offset, width: field.width, mask: field.mask,
                value: UInt32(value) << UInt32(field.shift)))
    }

    /// `vlan` once `depth - 1` tags were stepped over: the next TPID is one libpcap accepts.
    func vlanTag(depth: Int) -> FilterTree? {
        guard layout.hasEthernetHeader else { return nil }
        let tpid = FieldTable.field(.vlan, "tpid")
        let start = layout.vlanTagOffset(depth: depth)
        return .any(EtherType.vlanTags.map { field(tpid, at: start, equals: UInt64($0)) })
    }

    /// The EtherType test for a network protocol, or `nil` if the link cannot carry it.
    func network(_ header: Header, vlanDepth: Int) -> FilterTree? {
        if let typeOffset = layout.etherTypeOffset(vlanDepth: vlanDepth) {
            let etherType: UInt16
            switch header {
            case .ip4: etherType = EtherType.ipv4
            case .ip6: etherType = EtherType.ipv6
            case .arp: etherType = EtherType.arp
            default: preconditionFailure("\(header) is not a network header")
            }
            return .atom(Atom(offset: typeOffset, width: 2, value: UInt32(etherType)))
        }
        let version = FieldTable.field(.ip4, "version")
        switch (layout.linkType, header) {
        case (.raw, .ip4): return field(version, at: 0, equals: 4)
        case (.raw, .ip6): return field(version, at: 0, equals: 6)
        case (.ipv4, .ip4), (.ipv6, .ip6): return .accept
        default: return nil
        }
    }

    func networkAccess(_ header: Header, vlanDepth: Int) -> HeaderAccess? {
        network(header, vlanDepth: vlanDepth).map {
            HeaderAccess(
                guardTree: $0, base: .packetStart, offset: layout.networkOffset(vlanDepth: vlanDepth))
        }
    }

    /// `tcp`, `udp`, `icmp4`, `icmp6` as predicates: as libpcap, over IPv6 they also accept one
    /// fragment header in front of the protocol.
    func transportPredicate(_ header: Header, vlanDepth: Int) -> FilterTree? {
        let number = header.ipProtocol!
        var alternatives: [FilterTree] = []
        let net = layout.networkOffset(vlanDepth: vlanDepth)
        if header.requiredNetwork != .ip6, let ip4 = network(.ip4, vlanDepth: vlanDepth) {
            alternatives.append(
                .all([ip4, field(FieldTable.field(.ip4, "proto"), at: net, equals: UInt64(number))]))
        }
        if header.requiredNetwork != .ip4, let ip6 = network(.ip6, vlanDepth: vlanDepth) {
            let next = FieldTable.field(.ip6, "next")
            let direct = field(next, at: net, equals: UInt64(number))
            let afterFragment = FilterTree.all([
                field(next, at: net, equals: UInt64(IPProtocol.ipv6Fragment)),
                byte(
                    net + IPv6Layout.fixedHeaderLength + IPv6Layout.extensionNextHeaderOffset, equals: number),
            ])
            alternatives.append(.all([ip6, .any([direct, afterFragment])]))
        }
        return alternatives.isEmpty ? nil : .any(alternatives)
    }

    /// Ways to reach a transport header's first byte: over IPv4 only in a first fragment, past the
    /// variable-length header (a shift); over IPv6 only directly after the fixed header.
    func transportAccesses(_ header: Header, vlanDepth: Int, ipv4: Bool = true, ipv6: Bool = true)
        -> [HeaderAccess]
    {
        let number = UInt64(header.ipProtocol!)
        let net = layout.networkOffset(vlanDepth: vlanDepth)
        var accesses: [HeaderAccess] = []
        if ipv4, header.requiredNetwork != .ip6, let ip4 = network(.ip4, vlanDepth: vlanDepth) {
            let ihl = FieldTable.field(.ip4, "ihl")
            let headerLength = Shift(
                offset: net + ihl.offset, width: ihl.width, mask: ihl.mask,
                scale: IPv4Layout.headerLengthScale.trailingZeroBitCount)
            let guardTree = FilterTree.all([
                ip4,
                field(FieldTable.field(.ip4, "proto"), at: net, equals: number),
                field(FieldTable.field(.ip4, "frag"), at: net, equals: 0),
            ])
            accesses.append(HeaderAccess(guardTree: guardTree, base: HeaderBase([headerLength]), offset: net))
        }
        if ipv6, header.requiredNetwork != .ip4, let ip6 = network(.ip6, vlanDepth: vlanDepth) {
            let guardTree = FilterTree.all([
                ip6, field(FieldTable.field(.ip6, "next"), at: net, equals: number),
            ])
            accesses.append(
                HeaderAccess(
                    guardTree: guardTree, base: .packetStart, offset: net + IPv6Layout.fixedHeaderLength))
        }
        return accesses
    }
}
