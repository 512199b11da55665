import DPFFilter
import DPFWire
import Testing

@Suite struct PacketBuilderTests {
    let client = IPv4Address(192, 0, 2, 7)
    let server = IPv4Address(10, 1, 0, 5)

    @Test func buildsTCPOverIPv4() throws {
        let packet = PacketBuilder.ethernet().ipv4(src: client, dst: server, ttl: 63)
            .tcp(sourcePort: 40_000, destinationPort: 80, flags: TCPFlags.syn).payload([1, 2, 3]).packet
        #expect(packet.bytes.count == 14 + 20 + 20 + 3)
        #expect(packet.bytes[12...13] == [0x08, 0x00])
        let view = PacketFields(packet)
        #expect(view.value(of: "ip4.src") == UInt64(client.value))
        #expect(view.value(of: "ip4.dst") == UInt64(server.value))
        #expect(view.value(of: "ip4.ttl") == 63)
        #expect(view.value(of: "ip4.proto") == 6)
        #expect(view.value(of: "ip4.len") == 43)
        #expect(view.value(of: "ip4.ihl") == 5)
        #expect(view.value(of: "tcp.dport") == 80)
        #expect(view.value(of: "tcp.flags") == UInt64(TCPFlags.syn))
        #expect(view.start(of: .tcp) == 34)
    }

    @Test func ipv4ChecksumVerifies() {
        let bytes = PacketBuilder.ethernet().ipv4(src: client, dst: server, options: [1, 1, 1, 1]).udp(
            sourcePort: 1, destinationPort: 2
        ).bytes
        var sum: UInt32 = 0
        for index in stride(from: 14, to: 14 + 24, by: 2) {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        #expect(sum == 0xFFFF)
    }

    @Test func optionsMoveTheTransportHeader() {
        let packet = PacketBuilder.ethernet().ipv4(src: client, dst: server, options: [0x94, 0x04, 0, 0, 1])
            .udp(sourcePort: 53, destinationPort: 5353).packet
        let view = PacketFields(packet)
        #expect(view.value(of: "ip4.ihl") == 7)
        #expect(view.start(of: .udp) == 14 + 28)
        #expect(view.value(of: "udp.sport") == 53)
        #expect(view.value(of: "udp.len") == 8)
    }

    @Test func vlanTagsAndQinQ() {
        let packet = PacketBuilder.ethernet().vlan(id: 300, tpid: 0x88A8).vlan(id: 100, priority: 5)
            .ipv4(src: client, dst: server).icmp4(type: 8).packet
        #expect(packet.bytes[12...13] == [0x88, 0xA8])
        #expect(packet.bytes[16...17] == [0x81, 0x00])
        #expect(packet.bytes[20...21] == [0x08, 0x00])
        let view = PacketFields(packet)
        #expect(view.vlanDepth == 2)
        #expect(view.vlanIDs == [300, 100])
        #expect(view.value(of: "vlan.id") == 100, "vlan.* reads the innermost tag, as the language does")
        #expect(view.value(of: "vlan.pcp") == 5)
        #expect(view.start(of: .ip4) == 22)
        #expect(FieldTable.field(.vlan, "pcp").read(from: packet.bytes, headerStart: 16) == 5)
        #expect(view.value(of: "eth.type") == 0x0800)
        #expect(view.value(of: "icmp4.type") == 8)
    }

    @Test func ipv6WithAndWithoutFragmentHeader() throws {
        let source = try #require(IPv6Address("2001:db8::1"))
        let destination = try #require(IPv6Address("2001:db8::2"))
        let direct = PacketFields(
            PacketBuilder.ethernet().ipv6(src: source, dst: destination).tcp(
                sourcePort: 1, destinationPort: 443
            ).packet)
        #expect(direct.value(of: "ip6.next") == 6)
        #expect(direct.value(of: "ip6.plen") == 20)
        #expect(direct.value(of: "tcp.dport") == 443)
        let fragmented = PacketBuilder.ethernet().ipv6(src: source, dst: destination).ipv6Fragment().udp(
            sourcePort: 1, destinationPort: 53
        ).packet
        let view = PacketFields(fragmented)
        #expect(view.value(of: "ip6.next") == 44)
        #expect(fragmented.bytes[54] == 17)
        #expect(!view.has(.udp), "transport headers are decoded only directly after the fixed header")
    }

    @Test func nonFirstFragmentHasNoTransportHeader() {
        let packet = PacketBuilder.ethernet().ipv4(src: client, dst: server, fragmentOffset: 100).tcp(
            sourcePort: 1, destinationPort: 80
        ).packet
        let view = PacketFields(packet)
        #expect(view.value(of: "ip4.frag") == 100)
        #expect(!view.has(.tcp))
    }

    @Test func arpAndOtherLinkTypes() {
        let arp = PacketFields(
            PacketBuilder.ethernet(destination: .broadcast).arp(senderIP: client, targetIP: server).packet)
        #expect(arp.value(of: "arp.op") == 1)
        #expect(arp.value(of: "arp.tpa") == UInt64(server.value))
        #expect(arp.value(of: "eth.dst") == MACAddress.broadcast.value)

        let raw = PacketBuilder.raw().ipv4(src: client, dst: server).udp(sourcePort: 1, destinationPort: 2)
            .packet
        #expect(raw.linkType == .raw)
        #expect(raw.bytes[0] >> 4 == 4)
        #expect(PacketFields(raw).value(of: "udp.dport") == 2)

        let cooked = PacketBuilder.linuxCooked().ipv4(src: client, dst: server).udp(
            sourcePort: 1, destinationPort: 2
        ).packet
        #expect(cooked.bytes[14...15] == [0x08, 0x00])
        #expect(PacketFields(cooked).start(of: .ip4) == 16)
    }

    @Test func truncatedHeadersAreAbsent() {
        let packet = PacketBuilder.ethernet().ipv4(src: client, dst: server).tcp(
            sourcePort: 1, destinationPort: 80
        ).packet
        let cut = PacketFields(packet.truncated(to: 40))
        #expect(cut.has(.ip4))
        #expect(!cut.has(.tcp), "20 bytes of TCP header were not captured")
        // As a filter reads it: the ports were captured, the acknowledgment number was not.
        #expect(cut.value(of: "tcp.dport") == 80)
        #expect(cut.value(of: "tcp.ack") == nil)
        #expect(PacketFields(packet.truncated(to: 35)).value(of: "tcp.dport") == nil)
        #expect(packet.truncated(to: 40).originalLength == 54)
    }
}
