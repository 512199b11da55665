import DPFWire

/// The stable text form of filter trees (`dpf compile --emit tree`), one node per line, children
/// indented. Atoms print like BPF loads:
///
///     u16[16 + 4*(u8[14] & 0x0f)] == 0x0050
///
/// reads 2 bytes at offset 16 past the IPv4 header-length shift, and compares them with 80.
public enum TreePrinter {
    public static func dump(_ set: FilterSet) -> String {
        var lines = ["link \(set.linkType.name)"]
        for app in set.apps {
            var header = "app \(app.name) priority \(app.priority)"
            if app.isTap { header += " tap" }
            lines.append(header)
            for filter in app.filters {
                lines.append("  filter \(filter.name)")
                append(filter.tree, indent: 4, to: &lines)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func dump(_ tree: FilterTree) -> String {
        var lines: [String] = []
        append(tree, indent: 0, to: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func append(_ tree: FilterTree, indent: Int, to lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        switch tree {
        case .constant(let value):
            lines.append(pad + (value ? "true" : "false"))
        case .atom(let atom):
            lines.append(pad + describe(atom))
        case .and(let children), .or(let children):
            lines.append(pad + (tree.isAnd ? "and" : "or"))
            for child in children { append(child, indent: indent + 2, to: &lines) }
        case .not(let child):
            lines.append(pad + "not")
            append(child, indent: indent + 2, to: &lines)
        }
    }

    /// `u16[12] == 0x0800`, `u8[14] & 0x0f >= 0x05`, `u8[33] & 0x00 == 0x00` (bytes-captured test).
    public static func describe(_ atom: Atom) -> String {
        describe(atom.operand, mask: atom.mask) + " \(atom.relation.symbol) "
            + hex(atom.value, width: atom.operand.width)
    }

    /// The masked operand alone: `u16[20] & 0x1fff`.
    public static func describe(_ operand: Operand, mask: UInt32) -> String {
        let unmasked: String
        switch operand {
        case .load(let load): unmasked = "u\(8 * load.width)[\(location(load.offset, load.base))]"
        }
        let width = operand.width
        return mask == PacketLoad.fullMask(width: width)
            ? unmasked : unmasked + " & " + hex(mask, width: width)
    }

    /// `offset` past `base`, as `16 + 4*(u8[14] & 0x0f)`; nested shifts nest.
    static func location(_ offset: Int, _ base: HeaderBase) -> String {
        guard let last = base.shifts.last else { return String(offset) }
        let inner = base.parent
        let load = "u\(8 * last.width)[\(location(last.offset, inner))]"
        let masked =
            last.mask == PacketLoad.fullMask(width: last.width)
            ? load : "(\(load) & \(hex(last.mask, width: last.width)))"
        let scaled = last.scale == 0 ? masked : "\(1 << last.scale)*\(masked)"
        return offset == 0 ? scaled : "\(offset) + \(scaled)"
    }

    /// `value` in hex with two digits per byte of `width`.
    public static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 2 * width - digits.count)) + digits
    }
}

extension FilterTree {
    var isAnd: Bool {
        if case .and = self { return true }
        return false
    }
}
