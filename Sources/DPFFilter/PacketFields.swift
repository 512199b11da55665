import DPFWire

/// A packet's named fields, read by the filter builder's own rules: no second decoder.
///
/// Each field is found where `FilterBuilder.locations(of:)` puts it, by evaluating that location's
/// guard and base with the reference evaluator, and a scalar field is the builder's own load,
/// masked and shifted. So `value(of: field) == v` exactly when the filter `field == v` (after the
/// same VLAN tags) accepts the packet. The tags entered are all the packet carries: `eth.type` is
/// the EtherType past the innermost tag, `vlan.*` reads the innermost tag, and network and
/// transport headers are found past every tag, as the language reads them after `vlan and vlan`.
/// Transport fields over IPv4 are read only in a first fragment, past the variable-length header;
/// over IPv6 only directly after the fixed header.
public struct PacketFields: Sendable {
    public let packet: Packet
    /// A builder that has entered every VLAN tag the packet carries.
    private let builder: FilterBuilder

    public init(_ packet: Packet) {
        self.packet = packet
        var builder = FilterBuilder(linkType: packet.linkType)
        if builder.linkType.layout.hasEthernetHeader {
            var next = builder
            while let tag = try? next.enterVLANTag(), ReferenceEvaluator.matches(tag, bytes: packet.bytes) {
                builder = next
            }
        }
        self.builder = builder
    }

    public var bytes: [UInt8] { packet.bytes }

    /// VLAN tags the packet carries, as the filter builder enters them.
    public var vlanDepth: Int { builder.vlanDepth }

    /// The id of each VLAN tag, outermost first (those cut short read as `nil`).
    public var vlanIDs: [UInt16?] {
        guard vlanDepth > 0 else { return [] }
        let layout = packet.linkType.layout
        let id = FieldTable.field(.vlan, "id")
        return (1...vlanDepth).map { depth in
            id.read(from: bytes, headerStart: layout.vlanTagOffset(depth: depth)).map { UInt16($0) }
        }
    }

    /// Where `header` starts in this packet by the builder's rules, or `nil` when the packet does
    /// not carry it (its location's guard fails, or a header-length byte was not captured).
    public func start(of header: Header) -> Int? {
        guard let field = FieldTable.all.first(where: { $0.header == header && !$0.followsVLANTags }) else {
            return nil
        }
        return headerStart(of: field)
    }

    /// True when the packet carries `header` and all of its minimum length was captured.
    public func has(_ header: Header) -> Bool {
        guard let start = start(of: header) else { return false }
        return start + header.minimumLength <= bytes.count
    }

    /// The value of a field of up to 8 bytes (scalar fields masked and shifted, MAC addresses
    /// whole), or `nil` when the packet does not carry it or its bytes were not all captured.
    public func value(of field: FieldDescriptor) -> UInt64? {
        guard field.width <= 8, let start = headerStart(of: field) else { return nil }
        guard field.isScalar else { return field.read(from: bytes, headerStart: start) }
        // The builder's own load at the located header: `(load & mask) >> shift`.
        guard let load = try? Load(offset: start + field.offset, width: field.width),
            let loaded = ReferenceEvaluator.value(of: .load(load), bytes: bytes)
        else { return nil }
        return UInt64((loaded & field.mask) >> UInt32(field.shift))
    }

    /// `value(of:)` for the field called `name`; `nil` for unknown names too.
    public func value(of name: String) -> UInt64? {
        FieldTable.field(named: name).flatMap(value(of:))
    }

    /// A field's raw bytes, whatever its width, or `nil` when the packet does not carry it or its
    /// bytes were not all captured.
    public func bytes(of field: FieldDescriptor) -> [UInt8]? {
        headerStart(of: field).flatMap { field.bytes(from: bytes, headerStart: $0) }.map(Array.init)
    }

    /// An IPv6 address field (`ip6.src`, `ip6.dst`), or `nil` when the packet does not carry it.
    public func ipv6Address(_ name: String) -> IPv6Address? {
        guard let field = FieldTable.field(named: name), field.kind == .ipv6Address,
            let raw = bytes(of: field)
        else { return nil }
        return IPv6Address(bytes: raw)
    }

    /// The start of `field`'s header: the first of the builder's locations whose guard holds and
    /// whose base can be computed. The locations of one field exclude each other (IPv4 or IPv6).
    private func headerStart(of field: FieldDescriptor) -> Int? {
        var builder = self.builder
        guard let locations = try? builder.locations(of: field) else { return nil }
        for location in locations where ReferenceEvaluator.matches(location.guardTree, bytes: bytes) {
            if let base = ReferenceEvaluator.locate(location.base, bytes: bytes) {
                return base + location.offset
            }
        }
        return nil
    }
}
