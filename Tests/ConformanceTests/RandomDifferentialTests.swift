import DPFCapture
import DPFFilter
import DPFTestSupport
import DPFWire
import Testing

/// Random DPF filters and their tcpdump twins give the same answer on random packets: our reference
/// evaluator against libpcap's own compiler and `bpf_filter`.
@Suite struct RandomDifferentialTests {
    @Test(arguments: 0..<4)
    func randomFiltersAgreeWithLibpcap(seed: UInt64) throws {
        var pairs = RandomFilterPairs(seed: 0xBEEF + seed)
        var packets = RandomPackets(seed: 0xFEED + seed)
        let sample = packets.batch(400)
        var tally = AnswerTally()
        for _ in 0..<150 {
            let pair = pairs.next()
            let filter = try ComparedFilter(
                dpf: pair.dpf, pcap: pair.pcap, compareOnlyReadablePackets: pair.hasDisjunctionOrNegation)
            for packet in sample {
                if let difference = filter.disagreement(on: packet) {
                    Issue.record(Comment(rawValue: difference))
                    return
                }
            }
            tally.count(filter, on: sample)
        }
        tally.expectBothAnswers()
    }

    @Test(arguments: [LinkType.linuxCooked, .raw])
    func otherLinkTypesAgreeWithLibpcap(linkType: LinkType) throws {
        var pairs = RandomFilterPairs(seed: 0x5EED, linkType: linkType)
        var packets = RandomPackets(seed: 0xCAFE)
        let sample = packets.batch(1200).compactMap { $0.relinked(as: linkType) }
        #expect(sample.count > 300)
        var tally = AnswerTally()
        for _ in 0..<120 {
            let pair = pairs.next()
            let filter = try ComparedFilter(
                dpf: pair.dpf, pcap: pair.pcap, linkType: linkType,
                compareOnlyReadablePackets: pair.hasDisjunctionOrNegation)
            for packet in sample {
                if let difference = filter.disagreement(on: packet) {
                    Issue.record(Comment(rawValue: "\(linkType): \(difference)"))
                    return
                }
            }
            tally.count(filter, on: sample)
        }
        tally.expectBothAnswers()
    }

    @Test func everyPrimitiveAgreesOnEveryPacketIncludingTruncatedOnes() throws {
        var packets = RandomPackets(seed: 99)
        packets.truncationRate = 0.4
        let sample = packets.batch(1500)
        let primitives =
            RandomFilterPairs.primitives(
                port: 53, port: 443, ip: IPv4Address(10, 1, 0, 5), ip6: IPv6Address("2001:db8::1")!,
                mac: .broadcast, byte: 6)
            + [
                RandomFilterPairs.vlanPrimitive(id: 100),
                ("vlan and udp.dport == 53", "vlan and udp dst port 53"),
                ("vlan and vlan and ip4", "vlan and vlan and ip"),
            ]
        for (dpf, pcap) in primitives {
            let filter = try ComparedFilter(dpf: dpf, pcap: pcap, compareOnlyReadablePackets: false)
            let accepted = sample.filter { ReferenceEvaluator.matches(filter.tree, $0) }.count
            for packet in sample {
                if let difference = filter.disagreement(on: packet) {
                    Issue.record(Comment(rawValue: difference))
                    break
                }
            }
            // The packet mix is rich enough that almost every primitive sees both answers.
            if !["ip6.hlim == 6", "icmp4.type == 6", "icmp6.type == 6"].contains(dpf) {
                #expect(
                    accepted > 0 && accepted < sample.count, "\(dpf) accepted \(accepted) of \(sample.count)")
            }
        }
    }
}

/// How often the compared filters accepted and rejected: agreement means little if every filter
/// rejects every packet on both sides, so a run must see both answers often.
struct AnswerTally {
    var filters = 0
    var filtersAccepting = 0
    var filtersRejecting = 0

    mutating func count(_ filter: ComparedFilter, on sample: [Packet]) {
        let accepted = sample.filter { ReferenceEvaluator.matches(filter.tree, $0) }.count
        filters += 1
        if accepted > 0 { filtersAccepting += 1 }
        if accepted < sample.count { filtersRejecting += 1 }
    }

    func expectBothAnswers(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            filtersAccepting * 4 > filters, "\(filtersAccepting) of \(filters) filters accepted any packet",
            sourceLocation: sourceLocation)
        #expect(
            filtersRejecting * 4 > filters, "\(filtersRejecting) of \(filters) filters rejected any packet",
            sourceLocation: sourceLocation)
    }
}
