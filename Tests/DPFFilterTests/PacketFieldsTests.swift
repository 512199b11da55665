import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFWire
import Testing

/// `PacketFields` reads what filters read: for every field of random packets, the value it gives
/// is the one value the language's `field == value` accepts, after as many `vlan` tests as the
/// packet has tags.
@Suite struct PacketFieldsTests {
    /// The DPF expression `text` on `linkType`, evaluated by the reference evaluator.
    static func matches(_ text: String, _ packet: Packet) throws -> Bool {
        let source = SourceFile(name: "fields", text: text)
        let tree = try SemanticAnalyzer.analyzeExpression(
            Parser.parseExpression(source), in: source, linkType: packet.linkType)
        return ReferenceEvaluator.matches(tree, packet)
    }

    /// A field's value as a literal of its kind; `bytes` for wide fields.
    static func literal(_ field: FieldDescriptor, value: UInt64, bytes: [UInt8]) -> String {
        switch field.kind {
        case .integer: "\(value)"
        case .ipv4Address: "\(IPv4Address(UInt32(value)))"
        case .macAddress: "\(MACAddress(value))"
        case .ipv6Address: "\(IPv6Address(bytes: bytes))"
        }
    }

    /// Every field of `packet`: `field == value` holds for PacketFields' value and not for
    /// another; `!=` holds only for another value; a field PacketFields cannot read satisfies
    /// neither `==` nor `!=` (a comparison needs its field).
    static func checkEveryField(of packet: Packet) throws {
        let fields = PacketFields(packet)
        let depth = fields.vlanDepth
        let hasEthernet = packet.linkType.layout.hasEthernetHeader
        if hasEthernet {
            // Exactly `depth` tags: one more `vlan` test fails.
            if depth > 0 {
                #expect(
                    try matches(Array(repeating: "vlan", count: depth).joined(separator: " and "), packet))
            }
            #expect(
                !(try matches(Array(repeating: "vlan", count: depth + 1).joined(separator: " and "), packet)))
        }
        let prefix = String(repeating: "vlan and ", count: depth)
        for field in FieldTable.all {
            if !hasEthernet, field.header == .eth || field.header == .vlan {
                // The language refuses these on the link; PacketFields has nothing to read.
                #expect(fields.value(of: field) == nil && fields.bytes(of: field) == nil)
                continue
            }
            let raw = fields.bytes(of: field)
            let value = field.width <= 8 ? fields.value(of: field) : nil
            if field.width <= 8 { #expect((value == nil) == (raw == nil), "\(field) in \(packet.bytes)") }
            let readValue = value ?? 0
            let readBytes = raw ?? Array(repeating: 0, count: field.width)
            let otherValue =
                field.isScalar ? (readValue == field.maxValue ? readValue - 1 : readValue + 1) : readValue ^ 1
            var otherBytes = readBytes
            otherBytes[otherBytes.count - 1] ^= 1
            let same = literal(field, value: readValue, bytes: readBytes)
            let other = literal(field, value: otherValue, bytes: otherBytes)
            let context = "\(prefix)\(field) on \(packet.linkType) packet \(packet.bytes)"
            if raw != nil {
                #expect(try matches("\(prefix)\(field) == \(same)", packet), "\(context) reads \(same)")
                #expect(!(try matches("\(prefix)\(field) == \(other)", packet)), "\(context)")
                #expect(!(try matches("\(prefix)\(field) != \(same)", packet)), "\(context)")
                #expect(try matches("\(prefix)\(field) != \(other)", packet), "\(context)")
            } else {
                #expect(!(try matches("\(prefix)\(field) == \(same)", packet)), "\(context) reads nothing")
                #expect(!(try matches("\(prefix)\(field) != \(same)", packet)), "\(context) reads nothing")
            }
        }
    }

    @Test func everyFieldAgreesWithTheReferenceEvaluatorOnEthernet() throws {
        var packets = RandomPackets(seed: 0x5EED_F1E1D5)
        for _ in 0..<150 { try PacketFieldsTests.checkEveryField(of: packets.next()) }
    }

    @Test(arguments: [LinkType.linuxCooked, .raw, .ipv4, .ipv6])
    func everyFieldAgreesWithTheReferenceEvaluatorOnOtherLinks(_ linkType: LinkType) throws {
        var packets = RandomPackets(seed: 0x5EED_0000 + UInt64(linkType.rawValue))
        var checked = 0
        while checked < 40 {
            guard let packet = packets.next().relinked(as: linkType) else { continue }
            try PacketFieldsTests.checkEveryField(of: packet)
            checked += 1
        }
    }

    @Test func qinqReadsTheInnermostTag() throws {
        let packet = PacketBuilder.ethernet().vlan(id: 300, tpid: 0x88A8).vlan(id: 100, priority: 5)
            .ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
            .udp(sourcePort: 5004, destinationPort: 16_384).packet
        let fields = PacketFields(packet)
        #expect(fields.vlanDepth == 2)
        #expect(fields.vlanIDs == [300, 100])
        #expect(fields.value(of: "vlan.id") == 100)
        #expect(fields.value(of: "vlan.pcp") == 5)
        #expect(fields.value(of: "vlan.tpid") == 0x8100)
        #expect(fields.value(of: "eth.type") == UInt64(EtherType.ipv4))
        #expect(fields.value(of: "udp.dport") == 16_384)
        #expect(try PacketFieldsTests.matches("vlan and vlan and vlan.id == 100", packet))
        #expect(!(try PacketFieldsTests.matches("vlan.id == 100", packet)), "alone, vlan.id is the outer tag")
        try PacketFieldsTests.checkEveryField(of: packet)
    }

    @Test func fieldsPastTheHeadersTheBuilderFinds() throws {
        let client = IPv4Address(192, 0, 2, 7)
        let server = IPv4Address(10, 1, 0, 5)
        // A later fragment carries no transport header; IPv4 options move it.
        let later = PacketFields(
            PacketBuilder.ethernet().ipv4(src: client, dst: server, fragmentOffset: 3)
                .tcp(sourcePort: 1, destinationPort: 80).packet)
        #expect(later.value(of: "ip4.frag") == 3)
        #expect(later.value(of: "tcp.dport") == nil)
        #expect(!later.has(.tcp))
        let options = PacketFields(
            PacketBuilder.ethernet().ipv4(src: client, dst: server, options: [1, 1, 1, 1, 1, 1, 1, 1])
                .udp(sourcePort: 53, destinationPort: 9).packet)
        #expect(options.start(of: .udp) == 14 + 28)
        #expect(options.value(of: "udp.dport") == 9)
        // ICMPv4 is read only over IPv4; an unknown EtherType carries no network header.
        let icmp6 = PacketFields(
            PacketBuilder.ethernet().ipv6(src: IPv6Address("::1")!, dst: IPv6Address("::2")!)
                .icmp6(type: 128).packet)
        #expect(icmp6.value(of: "icmp6.type") == 128)
        #expect(icmp6.value(of: "icmp4.type") == nil)
        #expect(icmp6.ipv6Address("ip6.dst") == IPv6Address("::2"))
        let unknown = PacketFields(
            PacketBuilder.ethernet().payload([0x45, 0, 0, 20], etherType: 0x88CC).packet)
        #expect(unknown.value(of: "eth.type") == 0x88CC)
        #expect(unknown.value(of: "ip4.version") == nil)
        #expect(!unknown.has(.ip4))
        #expect(unknown.value(of: "no.such") == nil)
    }
}
