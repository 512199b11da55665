import DPFWire
import Testing

/// Link layouts and the packet builder take their offsets from the field table and the layout
/// enums; these pin the values they derive and where the builder puts each field.
@Suite struct LinkLayoutTests {
    @Test func linkHeaderLengthsAndOffsets() {
        let ethernet = LinkType.ethernet.layout
        #expect(ethernet.headerLength == 14)
        #expect(ethernet.headerLength == Header.eth.minimumLength)
        #expect(ethernet.untaggedEtherTypeOffset == 12)
        #expect(ethernet.untaggedEtherTypeOffset == FieldTable.field(.eth, "type").offset)
        #expect(ethernet.networkOffset(vlanDepth: 0) == 14)
        #expect(ethernet.networkOffset(vlanDepth: 2) == 22)
        #expect(ethernet.etherTypeOffset(vlanDepth: 1) == 16)
        #expect(ethernet.vlanTagOffset(depth: 1) == 12)
        #expect(ethernet.vlanTagOffset(depth: 3) == 20)

        let cooked = LinkType.linuxCooked.layout
        #expect(cooked.headerLength == 16)
        #expect(cooked.untaggedEtherTypeOffset == 14)
        #expect(cooked.networkOffset(vlanDepth: 0) == 16)
        #expect(!cooked.hasEthernetHeader)

        for link in [LinkType.raw, .ipv4, .ipv6] {
            #expect(link.layout.headerLength == 0)
            #expect(link.layout.untaggedEtherTypeOffset == nil)
            #expect(link.layout.networkOffset(vlanDepth: 0) == 0)
        }
        #expect(VLANLayout.tagLength == 4)
        #expect(IPv6Layout.fixedHeaderLength == Header.ip6.minimumLength)
        #expect(Header.ip4.minimumLength == 20)
        #expect(PacketLoad.window == 65536)
    }

    @Test func builderPutsFieldsWhereTheTableSays() throws {
        let client = IPv4Address(192, 0, 2, 7)
        let server = IPv4Address(10, 1, 0, 5)
        let bytes = PacketBuilder.ethernet().vlan(id: 0xABC, priority: 6).ipv4(
            src: client, dst: server, ttl: 9
        )
        .udp(sourcePort: 4321, destinationPort: 53).bytes
        let layout = LinkType.ethernet.layout
        let tag = layout.vlanTagOffset(depth: 1)
        let network = layout.networkOffset(vlanDepth: 1)
        let transport = network + Header.ip4.minimumLength
        let read = { (header: Header, name: String, start: Int) in
            FieldTable.field(header, name).read(from: bytes, headerStart: start)
        }
        #expect(read(.vlan, "tpid", tag) == 0x8100)
        #expect(read(.vlan, "id", tag) == 0xABC)
        #expect(read(.vlan, "pcp", tag) == 6)
        let etherType = FieldTable.field(.eth, "type")
        #expect(
            etherType.read(
                from: bytes,
                headerStart: try #require(layout.etherTypeOffset(vlanDepth: 1)) - etherType.offset)
                == UInt64(EtherType.ipv4))
        #expect(read(.ip4, "version", network) == 4)
        #expect(read(.ip4, "ttl", network) == 9)
        #expect(read(.ip4, "proto", network) == UInt64(IPProtocol.udp))
        #expect(read(.ip4, "src", network) == UInt64(client.value))
        #expect(read(.ip4, "dst", network) == UInt64(server.value))
        #expect(read(.udp, "sport", transport) == 4321)
        #expect(read(.udp, "dport", transport) == 53)
        #expect(read(.udp, "len", transport) == 8)
        #expect(bytes.count == transport + Header.udp.minimumLength)
    }

    @Test func linuxCookedHeaderFollowsItsLayout() {
        let bytes = PacketBuilder.linuxCooked().ipv6(
            src: IPv6Address(high: 1, low: 2), dst: IPv6Address(high: 3, low: 4)
        )
        .tcp(sourcePort: 1, destinationPort: 443).bytes
        let word = { (offset: Int) in UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
        #expect(word(LinuxCookedLayout.packetTypeOffset) == 0)
        #expect(word(LinuxCookedLayout.deviceTypeOffset) == LinuxCookedLayout.ethernetDeviceType)
        #expect(word(LinuxCookedLayout.addressLengthOffset) == 6)
        #expect(word(LinuxCookedLayout.protocolOffset) == EtherType.ipv6)
        #expect(Array(bytes[0..<16]) == [0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xDD])
        let network = LinkType.linuxCooked.layout.networkOffset(vlanDepth: 0)
        #expect(
            FieldTable.field(.ip6, "next").read(from: bytes, headerStart: network) == UInt64(IPProtocol.tcp))
        #expect(
            FieldTable.field(.tcp, "dport").read(
                from: bytes, headerStart: network + IPv6Layout.fixedHeaderLength)
                == 443)
    }

    @Test func ipv6FragmentHeaderFollowsItsLayout() {
        let bytes = PacketBuilder.raw().ipv6(
            src: IPv6Address(high: 0, low: 1), dst: IPv6Address(high: 0, low: 2)
        )
        .ipv6Fragment(offset: 0x123, moreFragments: true, identification: 0xDEAD_BEEF)
        .udp(sourcePort: 7, destinationPort: 9).bytes
        let fragment = IPv6Layout.fixedHeaderLength
        #expect(
            FieldTable.field(.ip6, "next").read(from: bytes, headerStart: 0)
                == UInt64(IPProtocol.ipv6Fragment))
        #expect(bytes[fragment + IPv6Layout.extensionNextHeaderOffset] == IPProtocol.udp)
        let offsetWord = PacketLoad.bigEndian(bytes, at: fragment + IPv6Layout.fragmentOffsetOffset, width: 2)
        #expect(offsetWord == 0x0919, "offset 0x123 (8-byte units) shifted left 3, more-fragments set")
        #expect(
            PacketLoad.bigEndian(bytes, at: fragment + IPv6Layout.fragmentIdentificationOffset, width: 4)
                == 0xDEAD_BEEF)
        #expect(Array(bytes[fragment..<(fragment + 8)]) == [17, 0, 0x09, 0x19, 0xDE, 0xAD, 0xBE, 0xEF])
        let udp = fragment + IPv6Layout.fragmentHeaderLength
        #expect(FieldTable.field(.udp, "dport").read(from: bytes, headerStart: udp) == 9)
        #expect(FieldTable.field(.ip6, "plen").read(from: bytes, headerStart: 0) == 16)
    }

    @Test func loadsAndWriters() {
        let bytes: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0x9A]
        #expect(PacketLoad.bigEndian(bytes, at: 0, width: 1) == 0x12)
        #expect(PacketLoad.bigEndian(bytes, at: 1, width: 2) == 0x3456)
        #expect(PacketLoad.bigEndian(bytes, at: 1, width: 4) == 0x3456_789A)
        #expect(PacketLoad.bigEndian(bytes, at: 2, width: 4) == nil)
        #expect(PacketLoad.bigEndian(bytes, at: -1, width: 1) == nil)
        #expect(PacketLoad.bigEndian(bytes, at: Int.max, width: 2) == nil)
        #expect(PacketLoad.bigEndian(bytes, at: 0, width: 3) == nil)
        #expect(PacketLoad.bigEndian([], at: 0, width: 1) == nil)
        #expect(PacketLoad.fullMask(width: 0) == 0)
        #expect(PacketLoad.fullMask(width: 1) == 0xFF)
        #expect(PacketLoad.fullMask(width: 2) == 0xFFFF)
        #expect(PacketLoad.fullMask(width: 3) == 0xFF_FFFF)
        #expect(PacketLoad.fullMask(width: 4) == .max)
        #expect(PacketLoad.fullMask(width: 200) == .max)
        #expect(PacketLoad.fullMask(width: -1) == 0)
        var out: [UInt8] = []
        ByteOrder.appendLittleEndian(UInt32(0xA1B2_C3D4), to: &out)
        ByteOrder.appendLittleEndian(UInt16(0x0102), to: &out)
        ByteOrder.appendBigEndian(UInt16(0x0102), to: &out)
        ByteOrder.appendLittleEndian(UInt64(1), to: &out)
        #expect(out == [0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x01, 0x01, 0x02, 1, 0, 0, 0, 0, 0, 0, 0])
        ByteOrder.storeBigEndian(UInt32(0x0A0B_0C0D), into: &out, at: 2)
        #expect(Array(out[0..<8]) == [0xD4, 0xC3, 0x0A, 0x0B, 0x0C, 0x0D, 0x01, 0x02])
    }
}
