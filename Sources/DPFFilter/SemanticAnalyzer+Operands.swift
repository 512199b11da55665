import DPFSyntax
import DPFWire

/// An operand after name resolution: the field's layout and every way to reach its header.
struct ResolvedOperand {
    var name: String
    var field: FieldDescriptor
    var accesses: [ProtocolGuards.HeaderAccess]
    var mask: Value?
    var range: SourceRange
}

extension SemanticAnalyzer {
    static let rawHeaders: [Header] = [.eth, .arp, .ip4, .ip6, .tcp, .udp, .icmp4, .icmp6]
    static let packetWindow = 65536

    mutating func resolve(_ operand: Operand) throws(Failure) -> ResolvedOperand {
        switch operand.target {
        case .field(let name):
            let nameRange = SourceRange(
                start: operand.range.start, end: operand.range.start + name.utf8.count)
            guard let field = FieldTable.field(named: name) else {
                throw failure(
                    "unknown field '\(name)'", at: nameRange,
                    notes: (suggests ? FieldTable.closestName(to: name) : nil).map {
                        ["did you mean '\($0)'?"]
                    } ?? [])
            }
            let accesses = try fieldAccesses(field, at: nameRange)
            return ResolvedOperand(
                name: name, field: field, accesses: accesses, mask: operand.mask, range: operand.range)
        case .raw(let headerName, let offset, let width):
            let name = "\(headerName)[\(offset):\(width)]"
            let headerRange = SourceRange(
                start: operand.range.start, end: operand.range.start + headerName.utf8.count)
            guard let header = Header(rawValue: headerName), SemanticAnalyzer.rawHeaders.contains(header)
            else {
                let hint = headerName == "vlan" ? "; use vlan.id, vlan.pcp or eth[...]" : ""
                throw failure(
                    "cannot load from '\(headerName)'; expected one of \(SemanticAnalyzer.rawHeaders.map(\.rawValue).joined(separator: ", "))\(hint)",
                    at: headerRange)
            }
            let field = FieldDescriptor(name, header: header, offset: offset, width: width)
            let accesses = try rawAccesses(header, at: headerRange, name: name)
            if let furthest = accesses.map({ $0.offset + offset + width }).max(),
                furthest > SemanticAnalyzer.packetWindow
            {
                throw failure("'\(name)' reaches past the 64 KiB packet window", at: operand.range)
            }
            return ResolvedOperand(
                name: name, field: field, accesses: accesses, mask: operand.mask, range: operand.range)
        }
    }

    private mutating func fieldAccesses(_ field: FieldDescriptor, at range: SourceRange) throws(Failure)
        -> [ProtocolGuards.HeaderAccess]
    {
        let layout = linkType.layout
        var accesses: [ProtocolGuards.HeaderAccess] = []
        switch field.header {
        case .eth:
            if layout.hasEthernetHeader {
                // eth.type is the EtherType past any VLAN tags stepped over so far.
                let start =
                    field.followsVLANTags ? layout.etherTypeOffset(vlanDepth: vlanDepth)! - field.offset : 0
                accesses = [.init(guardTree: .accept, base: .packetStart, offset: start)]
            }
        case .vlan:
            if layout.hasEthernetHeader {
                // vlan.* reads the innermost tag entered so far, entering the first one if none was.
                if vlanDepth == 0 { vlanDepth = 1 }
                accesses = [
                    .init(
                        guardTree: guards.vlanTag(depth: vlanDepth)!, base: .packetStart,
                        offset: layout.vlanTagOffset(depth: vlanDepth))
                ]
            }
        case .arp, .ip4, .ip6:
            accesses = guards.networkAccess(field.header, vlanDepth: vlanDepth).map { [$0] } ?? []
        case .tcp, .udp, .icmp4, .icmp6:
            accesses = guards.transportAccesses(field.header, vlanDepth: vlanDepth)
        }
        return try checkedAccesses(accesses, of: field.header, "'\(field.name)'", at: range)
    }

    /// No way to reach a network or transport header makes the comparison false (no accesses);
    /// no way to reach a link-layer header is an error.
    private mutating func checkedAccesses(
        _ accesses: [ProtocolGuards.HeaderAccess], of header: Header, _ what: String, at range: SourceRange
    ) throws(Failure) -> [ProtocolGuards.HeaderAccess] {
        guard accesses.isEmpty else { return accesses }
        if header == .eth || header == .vlan { throw unavailable(what, at: range) }
        _ = falseOnLink(what)
        return []
    }

    /// Raw loads follow tcpdump's `proto[...]`: `tcp[]`, `udp[]` and `icmp4[]` read IPv4's first
    /// fragment only; `icmp6[]` reads the header that directly follows the fixed IPv6 header.
    private mutating func rawAccesses(_ header: Header, at range: SourceRange, name: String) throws(Failure)
        -> [ProtocolGuards.HeaderAccess]
    {
        var accesses: [ProtocolGuards.HeaderAccess] = []
        switch header {
        case .eth:
            if linkType.layout.hasEthernetHeader {
                accesses = [.init(guardTree: .accept, base: .packetStart, offset: 0)]
            }
        case .arp, .ip4, .ip6:
            accesses = guards.networkAccess(header, vlanDepth: vlanDepth).map { [$0] } ?? []
        case .tcp, .udp, .icmp4:
            accesses = guards.transportAccesses(header, vlanDepth: vlanDepth, ipv6: false)
        case .icmp6:
            accesses = guards.transportAccesses(header, vlanDepth: vlanDepth, ipv4: false)
        case .vlan:
            break
        }
        return try checkedAccesses(accesses, of: header, "'\(name)'", at: range)
    }
}
