import DPFFilter
import DPFSyntax
import DPFWire

/// An operand after name resolution: the field's layout and every way to reach its header.
struct ResolvedOperand {
    var name: String
    var field: FieldDescriptor
    var locations: [FilterBuilder.HeaderLocation]
    var mask: Value?
    var range: SourceRange
}

extension SemanticAnalyzer {
    static let rawHeaders: [Header] = [.eth, .arp, .ip4, .ip6, .tcp, .udp, .icmp4, .icmp6]

    mutating func resolve(_ operand: OperandExpr) throws(Failure) -> ResolvedOperand {
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
            let locations: [FilterBuilder.HeaderLocation]
            do {
                locations = try builder.locations(of: field)
            } catch {
                throw failure(error.message, at: nameRange)
            }
            noteIfUnreachable(locations, "'\(field.name)'")
            return ResolvedOperand(
                name: name, field: field, locations: locations, mask: operand.mask, range: operand.range)
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
            let locations: [FilterBuilder.HeaderLocation]
            do {
                locations = try builder.rawLocations(of: header)
            } catch {
                throw failure("'\(name)' is not available on link type \(linkType.name)", at: headerRange)
            }
            noteIfUnreachable(locations, "'\(name)'")
            return ResolvedOperand(
                name: name, field: field, locations: locations, mask: operand.mask, range: operand.range)
        }
    }

    /// No way to reach a network or transport header makes the comparison false (no locations),
    /// and the filter is flagged if it can then never match.
    private mutating func noteIfUnreachable(_ locations: [FilterBuilder.HeaderLocation], _ what: String) {
        if locations.isEmpty { _ = falseOnLink(what) }
    }
}
