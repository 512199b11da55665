import DPFWire

/// Random filters written twice: in the DPF language and in tcpdump's pcap-filter language, with
/// the same meaning (DESIGN.md: where tcpdump has an equivalent, the meaning is tcpdump's).
/// Both spellings are fully parenthesised, since the two languages differ in and/or precedence.
public struct RandomFilterPairs {
    public struct Pair: Sendable, CustomStringConvertible {
        public let dpf: String
        public let pcap: String
        /// True if the expression uses `or` or `not` above its primitives; see `ConformanceTests`.
        public let hasDisjunctionOrNegation: Bool
        public var description: String { "dpf: \(dpf)  |  pcap: \(pcap)" }
    }

    public var generator: SeededGenerator
    /// Only primitives this link type carries are drawn (no `eth`/`vlan` off Ethernet, no ARP on raw IP).
    public let linkType: LinkType

    public init(seed: UInt64, linkType: LinkType = .ethernet) {
        generator = SeededGenerator(seed: seed)
        self.linkType = linkType
    }

    func supported(_ primitive: (String, String)) -> Bool {
        let layout = linkType.layout
        if !layout.hasEthernetHeader && (primitive.0.contains("eth") || primitive.0.contains("vlan")) {
            return false
        }
        if layout.untaggedEtherTypeOffset == nil && primitive.0.contains("arp") { return false }
        return true
    }

    /// Equivalent primitives; `vlan` ones are kept apart because each changes later offsets.
    public static func primitives(
        port p: UInt16, port q: UInt16, ip: IPv4Address, ip6: IPv6Address, mac: MACAddress, byte b: UInt8
    )
        -> [(String, String)]
    {
        let net16 = IPv4Address(ip.value & 0xFFFF_0000)
        let net6 = IPv6Address(high: ip6.high & 0xFFFF_FFFF_0000_0000, low: 0)
        let (low, high) = (min(p, q), max(p, q))
        return [
            ("ip4", "ip"), ("ip6", "ip6"), ("arp", "arp"), ("tcp", "tcp"), ("udp", "udp"), ("icmp4", "icmp"),
            ("icmp6", "icmp6"),
            ("tcp.dport == \(p)", "tcp dst port \(p)"),
            ("tcp.sport == \(p)", "tcp src port \(p)"),
            ("(tcp.sport == \(p) or tcp.dport == \(p))", "tcp port \(p)"),
            ("udp.dport == \(p)", "udp dst port \(p)"),
            ("(udp.sport == \(p) or udp.dport == \(p))", "udp port \(p)"),
            ("udp.dport in \(low)..\(high)", "udp dst portrange \(low)-\(high)"),
            ("tcp.sport in \(low)..\(high)", "tcp src portrange \(low)-\(high)"),
            ("ip4.src == \(ip)", "ip src host \(ip)"),
            ("ip4.dst == \(ip)", "ip dst host \(ip)"),
            ("ip4.dst in \(net16)/16", "ip dst net \(net16)/16"),
            ("ip6.src == \(ip6)", "ip6 src host \(ip6)"),
            ("ip6.dst in \(net6)/32", "ip6 dst net \(net6)/32"),
            ("ip4.proto == \(b)", "ip proto \(b)"),
            ("ip4.ttl > \(b)", "ip[8] > \(b)"),
            ("ip4.tos & 0xfc == \(b & 0xFC)", "ip[1] & 0xfc == \(b & 0xFC)"),
            ("ip4.frag == 0", "ip[6:2] & 0x1fff == 0"),
            ("ip6.hlim == \(b)", "ip6[7] == \(b)"),
            ("ip6.next == \(b)", "ip6[6] == \(b)"),
            ("tcp[13:1] & 0x12 == 0x02", "tcp[13] & 0x12 == 2"),
            ("tcp[13:1] & \(b) != 0", "tcp[13] & \(b) != 0"),
            ("udp[4:2] >= \(p)", "udp[4:2] >= \(p)"),
            ("icmp4.type == \(b % 16)", "icmp[0] == \(b % 16)"),
            ("icmp6.type == \(b)", "icmp6[0] == \(b)"),
            ("eth.src == \(mac)", "ether src \(mac)"),
            ("eth.dst == \(mac)", "ether dst \(mac)"),
            ("eth.type == 0x86dd", "ether proto 0x86dd"),
            ("eth[0:1] & 1 != 0", "ether[0] & 1 != 0"),
            ("arp.tpa == \(ip)", "arp[24:4] == \(ip.value)"),
        ]
    }

    /// A `vlan` primitive for a filter that has entered no tag yet (DPF's `vlan.id` then enters
    /// the first tag, as tcpdump's `vlan ID` does).
    public static func vlanPrimitive(id: UInt16) -> (String, String) { ("vlan.id == \(id)", "vlan \(id)") }

    public mutating func next(maximumDepth: Int = 3) -> Pair {
        var vlanUsed = false
        var compound = false
        let (dpf, pcap) = expression(
            depth: Int.random(in: 0...maximumDepth, using: &generator), vlanUsed: &vlanUsed,
            compound: &compound)
        return Pair(dpf: dpf, pcap: pcap, hasDisjunctionOrNegation: compound)
    }

    private mutating func expression(depth: Int, vlanUsed: inout Bool, compound: inout Bool) -> (
        String, String
    ) {
        if depth == 0 || generator.chance(0.3) { return primitive(vlanUsed: &vlanUsed) }
        switch Int.random(in: 0..<5, using: &generator) {
        case 0:
            compound = true
            let inner = expression(depth: depth - 1, vlanUsed: &vlanUsed, compound: &compound)
            return ("not (\(inner.0))", "not (\(inner.1))")
        case 1, 2:
            compound = true
            let left = expression(depth: depth - 1, vlanUsed: &vlanUsed, compound: &compound)
            let right = expression(depth: depth - 1, vlanUsed: &vlanUsed, compound: &compound)
            return ("(\(left.0)) or (\(right.0))", "(\(left.1)) or (\(right.1))")
        default:
            let left = expression(depth: depth - 1, vlanUsed: &vlanUsed, compound: &compound)
            let right = expression(depth: depth - 1, vlanUsed: &vlanUsed, compound: &compound)
            return ("(\(left.0)) and (\(right.0))", "(\(left.1)) and (\(right.1))")
        }
    }

    private mutating func primitive(vlanUsed: inout Bool) -> (String, String) {
        if !vlanUsed && linkType.layout.hasEthernetHeader && generator.chance(0.1) {
            vlanUsed = true
            return RandomFilterPairs.vlanPrimitive(id: generator.pick(RandomPackets.vlanIDs))
        }
        let port = { (g: inout SeededGenerator) in
            g.chance(0.8) ? g.pick(RandomPackets.ports) : UInt16.random(in: 0...UInt16.max, using: &g)
        }
        let choices = RandomFilterPairs.primitives(
            port: port(&generator), port: port(&generator), ip: generator.pick(RandomPackets.ipv4Pool),
            ip6: generator.pick(RandomPackets.ipv6Pool), mac: generator.pick(RandomPackets.macPool),
            byte: generator.pick([
                1, 6, 17, 58, 64, 128, 135, 255, UInt8.random(in: 0...255, using: &generator),
            ]))
        return generator.pick(choices.filter(supported))
    }
}
