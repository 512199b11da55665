import DPFFilter
import DPFWire

/// One-line, tcpdump-like summaries of packets, read through `PacketFields` (the filter builder's
/// rules: every VLAN tag entered, headers found as filters find them).
enum PacketDescription {
    static func summary(_ packet: Packet) -> String {
        let view = PacketFields(packet)
        var parts: [String] = []
        for id in view.vlanIDs {
            parts.append("vlan \(id ?? 0)")
        }
        let value = { (name: String) in view.value(of: name) ?? 0 }
        if view.has(.ip4) {
            let source = IPv4Address(UInt32(value("ip4.src")))
            let destination = IPv4Address(UInt32(value("ip4.dst")))
            parts.append(transport(view, network: "ip4", source: "\(source)", destination: "\(destination)"))
            if value("ip4.frag") != 0 { parts.append("frag@\(8 * value("ip4.frag"))") }
        } else if let source = view.ipv6Address("ip6.src"), let destination = view.ipv6Address("ip6.dst") {
            parts.append(transport(view, network: "ip6", source: "\(source)", destination: "\(destination)"))
        } else if view.has(.arp) {
            let op = value("arp.op") == 1 ? "who-has" : "reply"
            parts.append(
                "arp \(op) \(IPv4Address(UInt32(value("arp.tpa")))) tell \(IPv4Address(UInt32(value("arp.spa"))))"
            )
        } else {
            parts.append("\(packet.capturedLength) bytes, headers cut short")
        }
        if packet.capturedLength < packet.originalLength {
            parts.append("[\(packet.capturedLength)/\(packet.originalLength) bytes]")
        }
        return parts.joined(separator: " ")
    }

    private static func transport(_ view: PacketFields, network: String, source: String, destination: String)
        -> String
    {
        let value = { (name: String) in view.value(of: name) ?? 0 }
        // An IPv6 address is bracketed before its port, as in URLs, so the port does not read as
        // the address's last group: [2001:db8::1]:443.
        let endpoint = { (address: String, port: String) in
            network == "ip6" ? "[\(address)]:\(value(port))" : "\(address):\(value(port))"
        }
        if view.has(.tcp) {
            return "\(network) tcp \(endpoint(source, "tcp.sport")) > \(endpoint(destination, "tcp.dport"))"
        }
        if view.has(.udp) {
            return "\(network) udp \(endpoint(source, "udp.sport")) > \(endpoint(destination, "udp.dport"))"
        }
        if view.has(.icmp4) {
            return "\(network) icmp \(source) > \(destination) type \(value("icmp4.type"))"
        }
        if view.has(.icmp6) {
            return "\(network) icmp6 \(source) > \(destination) type \(value("icmp6.type"))"
        }
        return "\(network) \(source) > \(destination)"
    }
}
