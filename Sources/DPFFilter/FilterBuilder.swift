import DPFWire

/// Turns protocol-level requests into filter trees for one link type: "the packet carries TCP",
/// "TCP's destination port is 80, over IPv4 or IPv6", "past one more VLAN tag". Every front end
/// (the DPF language, tcpdump expressions) builds its atoms here, so a field means the same thing
/// whichever language named it. All offsets come from `DPFWire`'s tables; the rules for reaching a
/// header follow libpcap's code generator wherever tcpdump has the same primitive.
///
/// As with tcpdump's `vlan` keyword, each VLAN tag entered moves the headers that later requests
/// read 4 bytes further in, so a builder is used in the order the filter's text is read.
///
/// Nothing here traps: requests no engine could run (a header the link lacks, a load past the
/// packet window, a value wider than its field) throw `FilterError`.
public struct FilterBuilder: Sendable {
    public let linkType: LinkType
    /// VLAN tags stepped over so far.
    public private(set) var vlanDepth = 0
    private let layout: LinkLayout

    public init(linkType: LinkType) {
        self.linkType = linkType
        layout = linkType.layout
    }

    /// One way to reach a header: the tree that must hold for the header to be there (its
    /// *guard*), and the base and offset of the header's first byte.
    public struct HeaderLocation: Sendable, Hashable {
        public let guardTree: FilterTree
        public let base: HeaderBase
        public let offset: Int
    }

    // MARK: Predicates

    /// `vlan`: the next VLAN tag is present (its TPID is one libpcap accepts), and later requests
    /// read past it.
    public mutating func enterVLANTag() throws(FilterError) -> FilterTree {
        let tag = try vlanTag(depth: vlanDepth + 1)
        vlanDepth += 1
        return tag
    }

    /// The packet carries `header` (an Ethernet header, or a network or transport protocol), or
    /// `nil` when this link can never carry it (`ip6` on raw IPv4). As libpcap, `tcp`, `udp`,
    /// `icmp4` and `icmp6` over IPv6 also accept one fragment header in front of the protocol.
    /// Throws for `vlan` (use `enterVLANTag`) and for Ethernet on a link without it.
    public func carries(_ header: Header) throws(FilterError) -> FilterTree? {
        switch header {
        case .eth:
            guard layout.hasEthernetHeader else { throw notOnLink("'eth'") }
            return .accept
        case .vlan:
            throw FilterError(.unsupportedField, "a VLAN tag is entered with enterVLANTag()")
        case .arp, .ip4, .ip6:
            return try network(header)
        case .tcp, .udp, .icmp4, .icmp6:
            return try transportPredicate(header)
        }
    }

    // MARK: Where headers are

    /// Every way to reach `field`'s header, each with its guard; empty when the link can never
    /// carry the header (so any comparison on it is false). `eth.type` is the EtherType past the
    /// tags entered so far; `vlan.*` reads the innermost tag entered, entering the first one if
    /// none was. Network fields are read in place; transport fields over IPv4 only in a first
    /// fragment, past the variable-length header, and over IPv6 only directly after the fixed
    /// header.
    public mutating func locations(of field: FieldDescriptor) throws(FilterError) -> [HeaderLocation] {
        switch field.header {
        case .eth:
            guard layout.hasEthernetHeader else { throw notOnLink("'\(field.name)'") }
            guard field.followsVLANTags, let typeOffset = layout.etherTypeOffset(vlanDepth: vlanDepth) else {
                return [HeaderLocation(guardTree: .accept, base: .packetStart, offset: 0)]
            }
            return [HeaderLocation(guardTree: .accept, base: .packetStart, offset: typeOffset - field.offset)]
        case .vlan:
            guard layout.hasEthernetHeader else { throw notOnLink("'\(field.name)'") }
            if vlanDepth == 0 { vlanDepth = 1 }
            return [
                HeaderLocation(
                    guardTree: try vlanTag(depth: vlanDepth), base: .packetStart,
                    offset: layout.vlanTagOffset(depth: vlanDepth))
            ]
        case .arp, .ip4, .ip6:
            return try networkLocation(field.header).map { [$0] } ?? []
        case .tcp, .udp, .icmp4, .icmp6:
            return try transportLocations(field.header)
        }
    }

    /// Where tcpdump's `proto[offset:width]` reads: `tcp[]`, `udp[]` and `icmp4[]` read IPv4's
    /// first fragment only; `icmp6[]` reads the header that directly follows the fixed IPv6
    /// header. Empty when the link can never carry the header.
    public func rawLocations(of header: Header) throws(FilterError) -> [HeaderLocation] {
        switch header {
        case .eth:
            guard layout.hasEthernetHeader else { throw notOnLink("'eth'") }
            return [HeaderLocation(guardTree: .accept, base: .packetStart, offset: 0)]
        case .vlan:
            throw FilterError(
                .unsupportedField, "a VLAN tag has no raw loads; read its fields or the Ethernet header")
        case .arp, .ip4, .ip6:
            return try networkLocation(header).map { [$0] } ?? []
        case .tcp, .udp, .icmp4:
            return try transportLocations(header, ipv6: false)
        case .icmp6:
            return try transportLocations(header, ipv4: false)
        }
    }

    // MARK: Comparisons

    /// `field & mask RELATION value` wherever the field's header is, each alternative under its
    /// guard; `false` with no locations. Values and masks are the field's own (right-aligned), so
    /// `tcp.flags & 0x02 == 0x02` tests SYN whatever the bits' position in the load. A comparison
    /// needs its field: `!=` is false on a packet without the header.
    public func compare(
        _ field: FieldDescriptor, at locations: [HeaderLocation], mask: UInt64? = nil, _ relation: Relation,
        _ value: UInt64
    ) throws(FilterError) -> FilterTree {
        try compare(field, at: locations, mask: mask, [(relation, value)])
    }

    /// Several comparisons of one field that must all hold (a range is `>= low` and `<= high`),
    /// sharing each location's guard.
    public func compare(
        _ field: FieldDescriptor, at locations: [HeaderLocation], mask: UInt64? = nil,
        _ comparisons: [(relation: Relation, value: UInt64)]
    ) throws(FilterError) -> FilterTree {
        guard field.isScalar else {
            throw FilterError(
                .unsupportedField, "'\(field.name)' is \(8 * field.width) bits wide; compare it as bytes")
        }
        let fieldMask = try fitting(mask ?? field.maxValue, field, "mask")
        let shift = UInt32(field.shift)
        var alternatives: [FilterTree] = []
        for location in locations {
            let load = try Load(
                base: location.base, offset: location.offset + field.offset, width: field.width)
            var tests = [location.guardTree]
            for (relation, value) in comparisons {
                let fieldValue = try fitting(value, field, "value")
                tests.append(
                    .atom(
                        Atom(
                            .load(load), mask: fieldMask << shift & field.mask, relation: relation,
                            value: fieldValue << shift)))
            }
            alternatives.append(.all(tests))
        }
        return .any(alternatives)
    }

    /// A comparison of a wide field (a MAC or IPv6 address, or any field) byte by byte under a
    /// byte mask, as 4- and 2-byte word atoms; words the mask ignores are not read, as libpcap
    /// reads only the words of an IPv6 prefix. `negated` is `!=`, which still needs the field
    /// captured.
    public func compareBytes(
        _ field: FieldDescriptor, at locations: [HeaderLocation], value: [UInt8], mask: [UInt8]? = nil,
        negated: Bool = false
    ) throws(FilterError) -> FilterTree {
        let mask = mask ?? Array(repeating: 0xFF, count: field.width)
        guard value.count == field.width, mask.count == field.width, field.width.isMultiple(of: 2) else {
            throw FilterError(
                .unsupportedField,
                "'\(field.name)' is compared as \(field.width) bytes, in 2- and 4-byte words")
        }
        var alternatives: [FilterTree] = []
        for location in locations {
            let comparison = try wordComparison(
                at: location, offset: location.offset + field.offset, value: value, mask: mask,
                negated: negated)
            alternatives.append(.all([location.guardTree, comparison]))
        }
        return .any(alternatives)
    }

    private func wordComparison(
        at location: HeaderLocation, offset: Int, value: [UInt8], mask: [UInt8], negated: Bool
    ) throws(FilterError) -> FilterTree {
        var atoms: [FilterTree] = []
        var lastLoad: Load?
        var position = 0
        while position < value.count {
            let width = value.count - position >= 4 ? 4 : 2
            let word = { (bytes: [UInt8]) in
                bytes[position..<(position + width)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            }
            if word(mask) != 0 {
                let load = try Load(base: location.base, offset: offset + position, width: width)
                atoms.append(.atom(Atom(.load(load), mask: word(mask), value: word(value))))
                lastLoad = load
            }
            position += width
        }
        guard negated else { return .all(atoms) }
        guard let lastLoad else { return .reject }
        return .all([.atom(Atom(.load(lastLoad), mask: 0, value: 0)), .negation(.all(atoms))])
    }

    // MARK: Protocol guards

    private func notOnLink(_ what: String) -> FilterError {
        FilterError(.notOnLink, "\(what) is not available on link type \(linkType.name)")
    }

    private func fitting(_ value: UInt64, _ field: FieldDescriptor, _ role: String) throws(FilterError)
        -> UInt32
    {
        guard value <= field.maxValue else {
            throw FilterError(
                .valueOutOfRange, "\(role) \(value) does not fit '\(field.name)' (at most \(field.maxValue))")
        }
        return UInt32(value)
    }

    private func fieldTest(_ field: FieldDescriptor, at headerStart: Int, equals value: UInt64)
        throws(FilterError)
        -> FilterTree
    {
        try compare(
            field, at: [HeaderLocation(guardTree: .accept, base: .packetStart, offset: headerStart)], .equal,
            value)
    }

    /// The `depth`-th VLAN tag's TPID is one libpcap accepts.
    private func vlanTag(depth: Int) throws(FilterError) -> FilterTree {
        guard layout.hasEthernetHeader else { throw notOnLink("'vlan'") }
        let tpid = FieldTable.field(.vlan, "tpid")
        let start = layout.vlanTagOffset(depth: depth)
        var alternatives: [FilterTree] = []
        for type in EtherType.vlanTags {
            alternatives.append(try fieldTest(tpid, at: start, equals: UInt64(type)))
        }
        return .any(alternatives)
    }

    /// The EtherType (or IP version) test for a network protocol, or `nil` if the link cannot
    /// carry it.
    private func network(_ header: Header) throws(FilterError) -> FilterTree? {
        if let typeOffset = layout.etherTypeOffset(vlanDepth: vlanDepth) {
            let etherType: UInt16
            switch header {
            case .ip4: etherType = EtherType.ipv4
            case .ip6: etherType = EtherType.ipv6
            case .arp: etherType = EtherType.arp
            default: return nil
            }
            return .atom(try Atom(offset: typeOffset, width: 2, value: UInt32(etherType)))
        }
        if layout.hasAddressFamily {
            switch header {
            case .ip4: return try addressFamily(in: [LoopbackLayout.ipv4Family])
            case .ip6: return try addressFamily(in: LoopbackLayout.ipv6Families)
            default: return nil
            }
        }
        let version = FieldTable.field(.ip4, "version")
        switch (linkType, header) {
        case (.raw, .ip4): return try fieldTest(version, at: 0, equals: 4)
        case (.raw, .ip6): return try fieldTest(version, at: 0, equals: 6)
        case (.ipv4, .ip4), (.ipv6, .ip6): return .accept
        default: return nil
        }
    }

    /// The loopback header's address family is one of `families`: in network byte order on LOOP,
    /// in either byte order on NULL (the capturing machine's; libpcap goes by the file's byte
    /// order, which no packet contradicts: no family is another's byte swap).
    private func addressFamily(in families: [UInt32]) throws(FilterError) -> FilterTree {
        var alternatives: [FilterTree] = []
        for family in families {
            alternatives.append(.atom(try Atom(offset: 0, width: LoopbackLayout.headerLength, value: family)))
            if linkType == .null {
                alternatives.append(
                    .atom(try Atom(offset: 0, width: LoopbackLayout.headerLength, value: family.byteSwapped)))
            }
        }
        return .any(alternatives)
    }

    private func networkLocation(_ header: Header) throws(FilterError) -> HeaderLocation? {
        try network(header).map {
            HeaderLocation(
                guardTree: $0, base: .packetStart, offset: layout.networkOffset(vlanDepth: vlanDepth))
        }
    }

    private func transportPredicate(_ header: Header) throws(FilterError) -> FilterTree? {
        guard let number = header.ipProtocol.map(UInt64.init) else { return nil }
        var alternatives: [FilterTree] = []
        let net = layout.networkOffset(vlanDepth: vlanDepth)
        if header.requiredNetwork != .ip6, let ip4 = try network(.ip4) {
            alternatives.append(
                .all([ip4, try fieldTest(FieldTable.field(.ip4, "proto"), at: net, equals: number)]))
        }
        if header.requiredNetwork != .ip4, let ip6 = try network(.ip6) {
            let next = FieldTable.field(.ip6, "next")
            let direct = try fieldTest(next, at: net, equals: number)
            let afterFragment = FilterTree.all([
                try fieldTest(next, at: net, equals: UInt64(IPProtocol.ipv6Fragment)),
                .atom(
                    try Atom(
                        offset: net + IPv6Layout.fixedHeaderLength + IPv6Layout.extensionNextHeaderOffset,
                        width: 1,
                        value: UInt32(number))),
            ])
            alternatives.append(.all([ip6, .any([direct, afterFragment])]))
        }
        return alternatives.isEmpty ? nil : .any(alternatives)
    }

    private func transportLocations(_ header: Header, ipv4: Bool = true, ipv6: Bool = true)
        throws(FilterError)
        -> [HeaderLocation]
    {
        guard let number = header.ipProtocol.map(UInt64.init) else { return [] }
        let net = layout.networkOffset(vlanDepth: vlanDepth)
        var locations: [HeaderLocation] = []
        if ipv4, header.requiredNetwork != .ip6, let ip4 = try network(.ip4) {
            let ihl = FieldTable.field(.ip4, "ihl")
            let headerLength = try Shift(
                offset: net + ihl.offset, width: ihl.width, mask: ihl.mask,
                scale: IPv4Layout.headerLengthScale.trailingZeroBitCount)
            let guardTree = FilterTree.all([
                ip4,
                try fieldTest(FieldTable.field(.ip4, "proto"), at: net, equals: number),
                try fieldTest(FieldTable.field(.ip4, "frag"), at: net, equals: 0),
            ])
            locations.append(
                HeaderLocation(guardTree: guardTree, base: try HeaderBase([headerLength]), offset: net))
        }
        if ipv6, header.requiredNetwork != .ip4, let ip6 = try network(.ip6) {
            let guardTree = FilterTree.all([
                ip6, try fieldTest(FieldTable.field(.ip6, "next"), at: net, equals: number),
            ])
            locations.append(
                HeaderLocation(
                    guardTree: guardTree, base: .packetStart, offset: net + IPv6Layout.fixedHeaderLength))
        }
        return locations
    }
}
