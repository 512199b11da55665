import DPFFilter
import DPFWire
import Testing

/// The public builder on its own, as a second front end (tcpdump's) will use it: protocol-level
/// requests become trees that the reference evaluator runs on built packets, and every request no
/// engine could run is a thrown `FilterError`, never a trap.
@Suite struct FilterBuilderTests {
    static let a = IPv4Address(10, 0, 0, 1)
    static let b = IPv4Address(10, 0, 0, 2)
    static let a6 = IPv6Address("2001:db8::1")!
    static let b6 = IPv6Address("2001:db8::2")!
    static let tcpDport = FieldTable.field(.tcp, "dport")
    static let udpDport = FieldTable.field(.udp, "dport")

    /// `field == value` as the builder makes it for `linkType`, after `vlanTags` `vlan` steps.
    static func equals(
        _ field: FieldDescriptor, _ value: UInt64, linkType: LinkType = .ethernet, vlanTags: Int = 0
    ) throws -> FilterTree {
        var builder = FilterBuilder(linkType: linkType)
        var tests: [FilterTree] = []
        for _ in 0..<vlanTags { tests.append(try builder.enterVLANTag()) }
        tests.append(try builder.compare(field, at: try builder.locations(of: field), .equal, value))
        return .all(tests)
    }

    static func matches(_ tree: FilterTree, _ packet: PacketBuilder) -> Bool {
        ReferenceEvaluator.matches(tree, bytes: packet.bytes)
    }

    @Test func aTransportPortIsReadOverIPv4AndIPv6() throws {
        let tree = try FilterBuilderTests.equals(FilterBuilderTests.tcpDport, 80)
        let ethernet = PacketBuilder.ethernet()
        let v4 = ethernet.ipv4(src: FilterBuilderTests.a, dst: FilterBuilderTests.b)
        let v6 = ethernet.ipv6(src: FilterBuilderTests.a6, dst: FilterBuilderTests.b6)
        #expect(FilterBuilderTests.matches(tree, v4.tcp(sourcePort: 1, destinationPort: 80)))
        #expect(FilterBuilderTests.matches(tree, v6.tcp(sourcePort: 1, destinationPort: 80)))
        let withOptions = ethernet.ipv4(
            src: FilterBuilderTests.a, dst: FilterBuilderTests.b, options: [1, 1, 1, 1])
        #expect(FilterBuilderTests.matches(tree, withOptions.tcp(sourcePort: 1, destinationPort: 80)))
        #expect(!FilterBuilderTests.matches(tree, v4.tcp(sourcePort: 80, destinationPort: 81)))
        #expect(!FilterBuilderTests.matches(tree, v4.udp(sourcePort: 1, destinationPort: 80)))
        // A later fragment has no TCP header, whatever its bytes look like.
        let fragment = ethernet.ipv4(src: FilterBuilderTests.a, dst: FilterBuilderTests.b, fragmentOffset: 1)
        #expect(!FilterBuilderTests.matches(tree, fragment.tcp(sourcePort: 1, destinationPort: 80)))
    }

    /// Loopback links name the network protocol by address family: AF_INET, or any of the BSDs'
    /// AF_INET6 values; in either byte order on NULL (the capturing machine's), network order on
    /// LOOP. Linux cooked v2 puts the EtherType first.
    @Test func loopbackAndCookedV2LinksReachTheSameFields() throws {
        let dport = FilterBuilderTests.tcpDport
        for link in [LinkType.null, .loop, .linuxCooked2] {
            let tree = try FilterBuilderTests.equals(dport, 80, linkType: link)
            let frame = link == .linuxCooked2 ? PacketBuilder.linuxCooked2() : PacketBuilder.loopback(link)
            let v4 = frame.ipv4(src: FilterBuilderTests.a, dst: FilterBuilderTests.b)
            let v6 = frame.ipv6(src: FilterBuilderTests.a6, dst: FilterBuilderTests.b6)
            #expect(FilterBuilderTests.matches(tree, v4.tcp(sourcePort: 1, destinationPort: 80)), "\(link)")
            #expect(FilterBuilderTests.matches(tree, v6.tcp(sourcePort: 1, destinationPort: 80)), "\(link)")
            #expect(!FilterBuilderTests.matches(tree, v4.tcp(sourcePort: 80, destinationPort: 1)), "\(link)")
        }
        // The family word, however the 4 bytes are ordered.
        func ipv4(_ family: [UInt8], on link: LinkType) throws -> Bool {
            let tree = try #require(try FilterBuilder(linkType: link).carries(.ip4))
            return ReferenceEvaluator.matches(tree, bytes: family + [0x45] + Array(repeating: 0, count: 19))
        }
        #expect(try ipv4([2, 0, 0, 0], on: .null) && ipv4([0, 0, 0, 2], on: .null))
        #expect(try ipv4([0, 0, 0, 2], on: .loop) && !ipv4([2, 0, 0, 0], on: .loop))
        #expect(try !ipv4([10, 0, 0, 0], on: .null) && !ipv4([0, 0, 0, 3], on: .null))
        let ip6 = try #require(try FilterBuilder(linkType: .null).carries(.ip6))
        for family: UInt8 in [24, 28, 30] {
            #expect(
                ReferenceEvaluator.matches(ip6, bytes: [family, 0, 0, 0] + Array(repeating: 0x60, count: 40)))
        }
        // Linux's AF_INET6 (10) is not a value a loopback capture holds (libpcap reads files alike).
        #expect(!ReferenceEvaluator.matches(ip6, bytes: [10, 0, 0, 0] + Array(repeating: 0x60, count: 40)))
        #expect(try FilterBuilder(linkType: .loop).carries(.arp) == nil)
        #expect(throws: FilterError.self) { try FilterBuilder(linkType: .null).carries(.eth) }
    }

    @Test func eachVLANStepReadsOneTagFurtherIn() throws {
        let inner = try FilterBuilderTests.equals(FilterBuilderTests.udpDport, 53, vlanTags: 2)
        let outer = try FilterBuilderTests.equals(FilterBuilderTests.udpDport, 53, vlanTags: 1)
        let udp = { (builder: PacketBuilder) in
            builder.ipv4(src: FilterBuilderTests.a, dst: FilterBuilderTests.b).udp(
                sourcePort: 1, destinationPort: 53)
        }
        let twoTags = udp(PacketBuilder.ethernet().vlan(id: 300).vlan(id: 100))
        let oneTag = udp(PacketBuilder.ethernet().vlan(id: 100))
        #expect(FilterBuilderTests.matches(inner, twoTags))
        #expect(!FilterBuilderTests.matches(outer, twoTags))
        #expect(FilterBuilderTests.matches(outer, oneTag))
        #expect(!FilterBuilderTests.matches(inner, oneTag))
        #expect(!FilterBuilderTests.matches(outer, udp(PacketBuilder.ethernet())))
    }

    @Test func aHeaderTheLinkCannotCarryIsNilAndOneItLacksThrows() throws {
        let rawIPv4 = FilterBuilder(linkType: .ipv4)
        #expect(try rawIPv4.carries(.ip6) == nil)
        #expect(try rawIPv4.carries(.ip4) != nil)
        let error = try #require(throws: FilterError.self) { try rawIPv4.carries(.eth) }
        #expect(error.kind == .notOnLink)
        var builder = FilterBuilder(linkType: .raw)
        let vlan = try #require(throws: FilterError.self) { try builder.enterVLANTag() }
        #expect(vlan.kind == .notOnLink)
    }

    @Test func valuesAndMasksWiderThanTheFieldAreRefused() throws {
        var builder = FilterBuilder(linkType: .ethernet)
        let locations = try builder.locations(of: FilterBuilderTests.tcpDport)
        let value = try #require(throws: FilterError.self) {
            try builder.compare(FilterBuilderTests.tcpDport, at: locations, .equal, 65_536)
        }
        #expect(value.kind == .valueOutOfRange)
        let mask = try #require(throws: FilterError.self) {
            try builder.compare(FilterBuilderTests.tcpDport, at: locations, mask: 0x1_0000, .equal, 1)
        }
        #expect(mask.kind == .valueOutOfRange)
    }

    /// Every tag entered moves later reads 4 bytes in; past the 64 KiB packet window the builder
    /// throws instead of building a load no engine could run.
    @Test func tooManyVLANTagsThrowInsteadOfTrapping() throws {
        var builder = FilterBuilder(linkType: .ethernet)
        var thrown: FilterError?
        for _ in 0..<20_000 {
            do {
                _ = try builder.compare(
                    FilterBuilderTests.udpDport, at: try builder.locations(of: FilterBuilderTests.udpDport),
                    .equal,
                    53)
                _ = try builder.enterVLANTag()
            } catch {
                thrown = error
                break
            }
        }
        #expect(thrown?.kind == .outsidePacketWindow)
    }

    @Test func atomsRefuseWhatNoEngineCouldLoad() {
        let width = #expect(throws: FilterError.self) {
            try Atom(base: .packetStart, offset: 0, width: 3, relation: .equal, value: 0)
        }
        #expect(width?.kind == .invalidWidth)
        let window = #expect(throws: FilterError.self) {
            try Atom(base: .packetStart, offset: 65_535, width: 2, relation: .equal, value: 0)
        }
        #expect(window?.kind == .outsidePacketWindow)
        let negative = #expect(throws: FilterError.self) {
            try Atom(base: .packetStart, offset: -1, width: 1, relation: .equal, value: 0)
        }
        #expect(negative?.kind == .outsidePacketWindow)
    }
}
