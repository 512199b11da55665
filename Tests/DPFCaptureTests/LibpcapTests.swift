import DPFCapture
import DPFTestSupport
import DPFWire
import Foundation
import Testing

@Suite struct LibpcapTests {
    static func pcapFile(_ packets: [Packet], linkType: UInt32 = 1) -> [UInt8] {
        var bytes = PcapWriter.encode(packets)
        bytes.replaceSubrange(20..<24, with: (0..<4).map { UInt8(truncatingIfNeeded: linkType >> (8 * $0)) })
        return bytes
    }

    static func temporaryFile(_ bytes: [UInt8], name: String) throws -> String {
        let path = NSTemporaryDirectory() + "dpf-\(getpid())-\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let packets: [Packet] = [
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2)).udp(
            sourcePort: 1, destinationPort: 53
        ).packet,
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2)).tcp(
            sourcePort: 1, destinationPort: 80
        ).packet.truncated(to: 40),
        PacketBuilder.ethernet().arp(senderIP: IPv4Address(10, 0, 0, 1), targetIP: IPv4Address(10, 0, 0, 2))
            .packet,
    ]

    @Test func readsWhatWasWritten() throws {
        let path = try LibpcapTests.temporaryFile(
            LibpcapTests.pcapFile(LibpcapTests.packets), name: "good.pcap")
        defer { unlink(path) }
        let reader = try LibpcapReader(path: path)
        #expect(reader.linkType == .ethernet)
        let read = try reader.readAll()
        #expect(read == LibpcapTests.packets)
        #expect(read[1].originalLength == 54)
        #expect(reader.recordsRead == 3)
    }

    @Test func truncatedFileReportsWhereAfterWhatWasRead() throws {
        var bytes = LibpcapTests.pcapFile(LibpcapTests.packets)
        bytes.removeLast(10)
        let path = try LibpcapTests.temporaryFile(bytes, name: "cut.pcap")
        defer { unlink(path) }
        let reader = try LibpcapReader(path: path)
        #expect(try reader.nextPacket() == LibpcapTests.packets[0])
        #expect(try reader.nextPacket() == LibpcapTests.packets[1])
        let error = try #require(throws: CaptureError.self) { try reader.nextPacket() }
        #expect(error.kind == .malformed)
        #expect(error.message.contains("record 3"))
        #expect(error.message.contains("after 2 good records"))
    }

    @Test func unreadableAndUnsupportedFiles() throws {
        #expect(throws: CaptureError.self) { try LibpcapReader(path: "/nonexistent/dpf.pcap") }
        let garbage = try LibpcapTests.temporaryFile(
            Array("not a capture file at all".utf8), name: "garbage.pcap")
        defer { unlink(garbage) }
        let error = try #require(throws: CaptureError.self) { try LibpcapReader(path: garbage) }
        #expect(error.kind == .unreadable)
        let ppp = try LibpcapTests.temporaryFile(LibpcapTests.pcapFile([], linkType: 9), name: "ppp.pcap")
        defer { unlink(ppp) }
        let reader = try LibpcapReader(path: ppp)
        #expect(reader.linkType == nil)
        #expect(throws: CaptureError.self) { try reader.nextPacket() }
    }

    @Test func libpcapFilterMatchesLikeTcpdump() throws {
        let dns = try LibpcapFilter("udp dst port 53")
        let web = try LibpcapFilter("tcp dst port 80")
        #expect(LibpcapTests.packets.map(dns.matches) == [true, false, false])
        // The port lies inside the 40 captured bytes, so tcpdump accepts the truncated packet.
        #expect(LibpcapTests.packets.map(web.matches) == [false, true, false])
        let error = try #require(throws: CaptureError.self) { try LibpcapFilter("tcp dst port") }
        #expect(error.kind == .badExpression)
        #expect(error.message.hasPrefix("libpcap rejects 'tcp dst port': "))
    }

    @Test(.enabled(if: Fixtures.hasCorpus, Fixtures.noCorpus)) func readsTheCorpusWhenPresent() throws {
        let path = Fixtures.corpusCaptures + "/libpcap/filter/AH-IPcomp-IPv4.pcap"
        // The corpus manifest records 10 packets for this file.
        #expect(try LibpcapReader(path: path).readAll().count == 10)
    }
}
