import DPFWire
import Testing

@Suite struct FieldTableTests {
    /// Every field the language contract in DESIGN.md names.
    static let contractFields = """
        eth.src eth.dst eth.type vlan.id vlan.pcp arp.op arp.spa arp.tpa ip4.src ip4.dst ip4.proto ip4.ttl ip4.tos ip4.len \
        ip4.id ip4.frag ip6.src ip6.dst ip6.next ip6.hlim ip6.flow tcp.sport tcp.dport tcp.flags tcp.seq tcp.ack tcp.win \
        udp.sport udp.dport udp.len icmp4.type icmp4.code icmp6.type icmp6.code
        """.split(separator: " ").map(String.init)

    @Test func everyContractFieldExists() {
        for name in FieldTableTests.contractFields {
            #expect(FieldTable.field(named: name) != nil, "missing \(name)")
        }
    }

    @Test func namesAreUniqueAndPrefixedByTheirHeader() {
        #expect(Set(FieldTable.all.map(\.name)).count == FieldTable.all.count)
        for field in FieldTable.all {
            #expect(field.name.hasPrefix(field.header.rawValue + "."))
            #expect(
                field.offset + field.width <= field.header.minimumLength,
                "\(field.name) lies outside its header")
        }
    }

    @Test(arguments: [
        ("tcp.dport", 2, 2, UInt32(0xFFFF)), ("ip4.frag", 6, 2, UInt32(0x1FFF)),
        ("ip4.ihl", 0, 1, UInt32(0x0F)),
        ("ip6.flow", 0, 4, UInt32(0x000F_FFFF)), ("vlan.id", 2, 2, UInt32(0x0FFF)),
        ("vlan.pcp", 2, 2, UInt32(0xE000)),
        ("ip4.dst", 16, 4, UInt32.max), ("arp.tpa", 24, 4, UInt32.max), ("icmp6.type", 0, 1, UInt32(0xFF)),
    ])
    func layouts(name: String, offset: Int, width: Int, mask: UInt32) throws {
        let field = try #require(FieldTable.field(named: name))
        #expect(field.offset == offset)
        #expect(field.width == width)
        #expect(field.mask == mask)
    }

    @Test func writeThenReadRoundTripsEveryScalarField() {
        for field in FieldTable.all where field.isScalar {
            for value in [0, 1, field.maxValue / 3, field.maxValue] {
                var bytes = [UInt8](repeating: 0xA5, count: 64)
                field.write(value, into: &bytes, headerStart: 10)
                #expect(field.read(from: bytes, headerStart: 10) == value, "\(field.name) = \(value)")
                // Bytes outside the field, and bits of the field's bytes outside its mask, keep
                // their 0xA5 filler.
                let start = 10 + field.offset
                for index in bytes.indices where !(start..<(start + field.width)).contains(index) {
                    #expect(bytes[index] == 0xA5, "\(field.name): byte \(index) changed")
                }
                var word: UInt32 = 0
                for byte in bytes[start..<(start + field.width)] { word = word << 8 | UInt32(byte) }
                let filler =
                    UInt32(truncatingIfNeeded: 0xA5A5_A5A5 as UInt64) >> (32 - 8 * UInt32(field.width))
                #expect(
                    word & ~field.mask == filler & ~field.mask, "\(field.name): bits outside the mask changed"
                )
            }
        }
    }

    @Test func onlyTheEtherTypeFollowsVLANTags() {
        #expect(FieldTable.all.filter(\.followsVLANTags).map(\.name) == ["eth.type"])
    }

    @Test func readPastTheEndIsNil() throws {
        let field = try #require(FieldTable.field(named: "tcp.dport"))
        #expect(field.read(from: [0, 0, 0], headerStart: 0) == nil)
        #expect(field.read(from: [0, 0, 0x01, 0xBB], headerStart: 0) == 443)
    }

    @Test func suggestsCloseNames() {
        #expect(FieldTable.closestName(to: "tcp.dprt") == "tcp.dport")
        #expect(
            FieldTable.closestName(to: "ip.src") == "ip4.src"
                || FieldTable.closestName(to: "ip.src") == "ip6.src")
        #expect(FieldTable.closestName(to: "completely.different") == nil)
    }

    @Test func linkLayouts() {
        let ethernet = LinkType.ethernet.layout
        #expect(ethernet.etherTypeOffset(vlanDepth: 0) == 12)
        #expect(ethernet.etherTypeOffset(vlanDepth: 2) == 20)
        #expect(ethernet.networkOffset(vlanDepth: 1) == 18)
        #expect(ethernet.vlanTagOffset(depth: 2) == 16)
        #expect(LinkType.linuxCooked.layout.etherTypeOffset(vlanDepth: 0) == 14)
        #expect(LinkType.linuxCooked.layout.networkOffset(vlanDepth: 0) == 16)
        #expect(LinkType.raw.layout.etherTypeOffset(vlanDepth: 0) == nil)
        #expect(LinkType(name: "linux-sll") == .linuxCooked)
    }
}

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("tcp", "tpc", 1), ("", "abc", 3), ("kitten", "sitting", 3), ("tcp.dport", "tcp.dprt", 1),
        ("ip4.src", "ip4.src", 0), ("ca", "abc", 3), ("abcdef", "badcfe", 3),
    ])
    func editDistanceCountsOneStepPerEdit(a: String, b: String, distance: Int) {
        #expect(editDistance(a, b) == distance)
        #expect(editDistance(b, a) == distance)
    }

    @Test func suggestionsAreNearNamesOnly() {
        #expect(FieldTable.closestName(to: "tcp.dprt") == "tcp.dport")
        #expect(FieldTable.closestName(to: "ip4.sr") == "ip4.src")
        #expect(FieldTable.closestName(to: "completely.different") == nil)
        #expect(closestMatch(to: "tpc", among: ["udp", "tcp", "tap"]) == "tcp")
    }
}
