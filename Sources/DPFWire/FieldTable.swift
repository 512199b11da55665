/// The one table of named fields. Every offset the parser, the evaluators, the packet builder and the
/// tests use comes from here.
public enum FieldTable {
    public static let all: [FieldDescriptor] = ethernet + vlan + arp + ipv4 + ipv6 + tcp + udp + icmp4 + icmp6

    static let ethernet: [FieldDescriptor] = [
        .init("eth.dst", header: .eth, offset: 0, width: 6, kind: .macAddress),
        .init("eth.src", header: .eth, offset: 6, width: 6, kind: .macAddress),
        .init("eth.type", header: .eth, offset: 12, width: 2, followsVLANTags: true),
    ]

    /// A VLAN tag, measured from its tag protocol identifier.
    static let vlan: [FieldDescriptor] = [
        .init("vlan.tpid", header: .vlan, offset: 0, width: 2),
        .init("vlan.pcp", header: .vlan, offset: 2, width: 2, mask: 0xE000),
        .init("vlan.dei", header: .vlan, offset: 2, width: 2, mask: 0x1000),
        .init("vlan.id", header: .vlan, offset: 2, width: 2, mask: 0x0FFF),
    ]

    static let arp: [FieldDescriptor] = [
        .init("arp.htype", header: .arp, offset: 0, width: 2),
        .init("arp.ptype", header: .arp, offset: 2, width: 2),
        .init("arp.hlen", header: .arp, offset: 4, width: 1),
        .init("arp.plen", header: .arp, offset: 5, width: 1),
        .init("arp.op", header: .arp, offset: 6, width: 2),
        .init("arp.sha", header: .arp, offset: 8, width: 6, kind: .macAddress),
        .init("arp.spa", header: .arp, offset: 14, width: 4, kind: .ipv4Address),
        .init("arp.tha", header: .arp, offset: 18, width: 6, kind: .macAddress),
        .init("arp.tpa", header: .arp, offset: 24, width: 4, kind: .ipv4Address),
    ]

    static let ipv4: [FieldDescriptor] = [
        .init("ip4.version", header: .ip4, offset: 0, width: 1, mask: 0xF0),
        .init("ip4.ihl", header: .ip4, offset: 0, width: 1, mask: 0x0F),
        .init("ip4.tos", header: .ip4, offset: 1, width: 1),
        .init("ip4.len", header: .ip4, offset: 2, width: 2),
        .init("ip4.id", header: .ip4, offset: 4, width: 2),
        .init("ip4.flags", header: .ip4, offset: 6, width: 2, mask: 0xE000),
        // The fragment offset in 8-byte units; 0 in an unfragmented packet and in a first fragment.
        .init("ip4.frag", header: .ip4, offset: 6, width: 2, mask: 0x1FFF),
        .init("ip4.ttl", header: .ip4, offset: 8, width: 1),
        .init("ip4.proto", header: .ip4, offset: 9, width: 1),
        .init("ip4.sum", header: .ip4, offset: 10, width: 2),
        .init("ip4.src", header: .ip4, offset: 12, width: 4, kind: .ipv4Address),
        .init("ip4.dst", header: .ip4, offset: 16, width: 4, kind: .ipv4Address),
    ]

    static let ipv6: [FieldDescriptor] = [
        .init("ip6.version", header: .ip6, offset: 0, width: 4, mask: 0xF000_0000),
        .init("ip6.tclass", header: .ip6, offset: 0, width: 4, mask: 0x0FF0_0000),
        .init("ip6.flow", header: .ip6, offset: 0, width: 4, mask: 0x000F_FFFF),
        .init("ip6.plen", header: .ip6, offset: 4, width: 2),
        .init("ip6.next", header: .ip6, offset: 6, width: 1),
        .init("ip6.hlim", header: .ip6, offset: 7, width: 1),
        .init("ip6.src", header: .ip6, offset: 8, width: 16, kind: .ipv6Address),
        .init("ip6.dst", header: .ip6, offset: 24, width: 16, kind: .ipv6Address),
    ]

    static let tcp: [FieldDescriptor] = [
        .init("tcp.sport", header: .tcp, offset: 0, width: 2),
        .init("tcp.dport", header: .tcp, offset: 2, width: 2),
        .init("tcp.seq", header: .tcp, offset: 4, width: 4),
        .init("tcp.ack", header: .tcp, offset: 8, width: 4),
        .init("tcp.off", header: .tcp, offset: 12, width: 1, mask: 0xF0),
        .init("tcp.flags", header: .tcp, offset: 13, width: 1),
        .init("tcp.win", header: .tcp, offset: 14, width: 2),
        .init("tcp.sum", header: .tcp, offset: 16, width: 2),
        .init("tcp.urp", header: .tcp, offset: 18, width: 2),
    ]

    static let udp: [FieldDescriptor] = [
        .init("udp.sport", header: .udp, offset: 0, width: 2),
        .init("udp.dport", header: .udp, offset: 2, width: 2),
        .init("udp.len", header: .udp, offset: 4, width: 2),
        .init("udp.sum", header: .udp, offset: 6, width: 2),
    ]

    static let icmp4: [FieldDescriptor] = [
        .init("icmp4.type", header: .icmp4, offset: 0, width: 1),
        .init("icmp4.code", header: .icmp4, offset: 1, width: 1),
        .init("icmp4.sum", header: .icmp4, offset: 2, width: 2),
        .init("icmp4.id", header: .icmp4, offset: 4, width: 2),
        .init("icmp4.seq", header: .icmp4, offset: 6, width: 2),
    ]

    static let icmp6: [FieldDescriptor] = [
        .init("icmp6.type", header: .icmp6, offset: 0, width: 1),
        .init("icmp6.code", header: .icmp6, offset: 1, width: 1),
        .init("icmp6.sum", header: .icmp6, offset: 2, width: 2),
    ]

    private static let byName: [String: FieldDescriptor] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The field called `name` (`"tcp.dport"`), if there is one.
    public static func field(named name: String) -> FieldDescriptor? { byName[name] }

    /// The field `name` of `header`; traps if the table lacks it (a programmer error).
    public static func field(_ header: Header, _ name: String) -> FieldDescriptor {
        guard let field = byName["\(header.rawValue).\(name)"] else {
            preconditionFailure("no field \(header.rawValue).\(name) in FieldTable")
        }
        return field
    }

    /// The known field whose name is closest to `name`, for "did you mean" notes.
    public static func closestName(to name: String) -> String? {
        closestMatch(to: name, among: all.map(\.name))
    }
}

/// The candidate nearest to `name` by edit distance, if it is near enough to suggest.
public func closestMatch(to name: String, among candidates: [String]) -> String? {
    let limit = max(2, name.count / 3)
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        // The distance is at least the difference in length: skip what cannot be near enough.
        guard abs(candidate.utf8.count - name.utf8.count) <= limit else { continue }
        let distance = editDistance(candidate, name)
        if distance <= limit, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
    }
    return best?.candidate
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions
/// (optimal string alignment), so `tpc` is one step from `tcp`. Three rolling rows of one buffer:
/// diagnostics call this once per candidate name for every unknown name in a file.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8)
    let b = Array(b.utf8)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    let width = b.count + 1
    // Rows i-2, i-1 and i of the table, at offsets 0, width and 2*width (rotated per row).
    var rows = [Int](repeating: 0, count: 3 * width)
    for j in 0...b.count { rows[width + j] = j }
    var (twoBack, previous, current) = (0, width, 2 * width)
    for i in 1...a.count {
        rows[current] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var value = min(rows[previous + j] + 1, rows[current + j - 1] + 1, rows[previous + j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                value = min(value, rows[twoBack + j - 2] + 1)
            }
            rows[current + j] = value
        }
        (twoBack, previous, current) = (previous, current, twoBack)
    }
    return rows[previous + b.count]
}
