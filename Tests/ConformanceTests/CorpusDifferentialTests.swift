import DPFCapture
import DPFFilter
import DPFTestSupport
import DPFWire
import Foundation
import Testing

/// The same comparison over the real captures in ../shared/corpus (skipped when it is absent).
@Suite struct CorpusDifferentialTests {
    static let pairs: [(String, String, Bool)] = [
        ("ip4", "ip", false), ("ip6", "ip6", false), ("arp", "arp", false), ("tcp", "tcp", false),
        ("udp", "udp", false),
        ("icmp4", "icmp", false), ("icmp6", "icmp6", false), ("vlan", "vlan", false),
        ("tcp.dport == 80", "tcp dst port 80", false),
        ("tcp.sport == 80 or tcp.dport == 80", "tcp port 80", false),
        ("udp.sport == 53 or udp.dport == 53", "udp port 53", false),
        ("udp.dport in 1024..65535", "udp dst portrange 1024-65535", false),
        ("ip4.src in 10.0.0.0/8", "ip src net 10.0.0.0/8", false),
        ("ip4.dst in 192.168.0.0/16", "ip dst net 192.168.0.0/16", false),
        ("ip6.dst in ff02::/16", "ip6 dst net ff02::/16", false),
        ("ip6.src in fe80::/10", "ip6 src net fe80::/10", false),
        ("tcp[13:1] & 0x12 == 0x02", "tcp[13] & 0x12 == 2", false),
        ("ip4.frag != 0", "ip[6:2] & 0x1fff != 0", false),
        ("ip4.ihl > 5", "ip[0] & 0xf > 5", false), ("icmp4.type == 8", "icmp[0] == 8", false),
        ("icmp6.type == 135", "icmp6[0] == 135", false),
        ("eth.dst == ff:ff:ff:ff:ff:ff", "ether dst ff:ff:ff:ff:ff:ff", false),
        ("eth[0:1] & 1 != 0", "ether[0] & 1 != 0", false),
        ("vlan.id == 100", "vlan 100", false), ("vlan and ip4", "vlan and ip", false),
        ("vlan and vlan", "vlan and vlan", false),
        ("ip6.next == 44", "ip6[6] == 44", false), ("ip4.ttl == 1", "ip[8] == 1", false),
        (
            "tcp.dport == 80 and not ip4.src in 10.0.0.0/8", "tcp dst port 80 and not ip src net 10.0.0.0/8",
            true
        ),
        ("(udp.dport == 53 or tcp.dport == 53) and ip4", "(udp dst port 53 or tcp dst port 53) and ip", true),
        ("not vlan and tcp.dport == 80", "not vlan and tcp dst port 80", true),
    ]

    /// The pairs both sides accept for `capture` (`eth.*` has no meaning on a cooked or loopback
    /// link, `vlan` none off Ethernet: DPF and libpcap both refuse those), libpcap's side compiled
    /// against the file as tcpdump reading it does.
    static func filters(for capture: LibpcapReader, linkType: LinkType) -> [ComparedFilter] {
        pairs.compactMap {
            try? ComparedFilter(
                dpf: $0.0, pcap: $0.1, capture: capture, linkType: linkType, compareOnlyReadablePackets: $0.2)
        }
    }

    /// Every capture of a link type DPF demultiplexes, every pair that link type allows.
    @Test(.enabled(if: Fixtures.hasCorpus, Fixtures.noCorpus)) func corpusCapturesAgreeWithLibpcap() throws {
        let directory = Fixtures.corpusCaptures
        var filtersByLink: [LinkType: Int] = [:]
        var filesByLink: [LinkType: Int] = [:]
        var packets = 0
        var failures = 0
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".pcap") || relative.hasSuffix(".pcapng") || relative.hasSuffix(".cap")
            else { continue }
            guard let reader = try? LibpcapReader(path: "\(directory)/\(relative)"),
                let linkType = reader.linkType
            else { continue }
            let filters = CorpusDifferentialTests.filters(for: reader, linkType: linkType)
            filtersByLink[linkType] = max(filtersByLink[linkType] ?? 0, filters.count)
            filesByLink[linkType, default: 0] += 1
            while true {
                let packet: Packet?
                // A truncated file ends the loop; the packets read before the damage still count.
                do { packet = try reader.nextPacket() } catch { break }
                guard let packet else { break }
                packets += 1
                for filter in filters {
                    if let difference = filter.disagreement(on: packet), failures < 5 {
                        failures += 1
                        Issue.record(
                            Comment(rawValue: "\(relative) packet \(reader.recordsRead): \(difference)"))
                    }
                }
            }
        }
        let perLink = filesByLink.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.value) \($0.key.name) (\(filtersByLink[$0.key] ?? 0) filters)" }
        print("compared filters over \(packets) packets in captures: \(perLink.joined(separator: ", "))")
        #expect((filesByLink[.ethernet] ?? 0) > 100)
        #expect(packets > 10_000)
        // Every link type DPF demultiplexes that the corpus holds (it has no LOOP capture).
        for linkType in [LinkType.null, .linuxCooked, .linuxCooked2, .raw, .ipv4, .ipv6] {
            #expect((filesByLink[linkType] ?? 0) > 0, "no \(linkType.name) capture was compared")
            #expect((filtersByLink[linkType] ?? 0) >= 10, "too few filters on \(linkType.name)")
        }
    }
}
