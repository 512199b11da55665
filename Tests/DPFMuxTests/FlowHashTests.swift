import DPFMux
import DPFTestSupport
import DPFWire
import Testing

/// One flow, as the flow hash sees it, and the packets that carry it.
private struct Flow {
    enum Transport: CaseIterable { case tcp, udp, sctp, icmp }

    var ipv6: Bool
    var source4 = IPv4Address(0)
    var destination4 = IPv4Address(0)
    var source6 = IPv6Address(high: 0, low: 0)
    var destination6 = IPv6Address(high: 0, low: 0)
    var transport: Transport
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0

    static let sctp: UInt8 = 132

    /// A flow with uniformly random addresses and ports.
    static func random(using generator: inout SeededGenerator, ipv6: Bool? = nil) -> Flow {
        var flow = Flow(
            ipv6: ipv6 ?? generator.chance(0.5), transport: generator.pick([.tcp, .udp, .sctp, .tcp, .udp]))
        flow.source4 = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))
        flow.destination4 = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))
        flow.source6 = IPv6Address(
            high: UInt64.random(in: 0...UInt64.max, using: &generator),
            low: UInt64.random(in: 0...UInt64.max, using: &generator))
        flow.destination6 = IPv6Address(
            high: UInt64.random(in: 0...UInt64.max, using: &generator),
            low: UInt64.random(in: 0...UInt64.max, using: &generator))
        flow.sourcePort = UInt16.random(in: 0...UInt16.max, using: &generator)
        flow.destinationPort = UInt16.random(in: 0...UInt16.max, using: &generator)
        return flow
    }

    /// The other direction.
    var reversed: Flow {
        var flow = self
        swap(&flow.source4, &flow.destination4)
        swap(&flow.source6, &flow.destination6)
        swap(&flow.sourcePort, &flow.destinationPort)
        return flow
    }

    /// The start of a packet on `link`, with VLAN tags of the given TPIDs (Ethernet only).
    static func frame(_ link: LinkType, tags: [UInt16] = []) -> PacketBuilder {
        switch link {
        case .ethernet:
            tags.reduce(PacketBuilder.ethernet()) { $0.vlan(id: 100, tpid: $1) }
        case .linuxCooked:
            PacketBuilder.linuxCooked()
        case .linuxCooked2:
            PacketBuilder.linuxCooked2()
        case .null, .loop:
            PacketBuilder.loopback(link)
        case .raw, .ipv4, .ipv6:
            PacketBuilder.raw()
        }
    }

    /// Links that can carry this flow.
    var links: [LinkType] {
        [.ethernet, .linuxCooked, .linuxCooked2, .null, .loop, .raw, ipv6 ? .ipv6 : .ipv4]
    }

    /// The network header, on `builder`.
    func network(_ builder: PacketBuilder, identification: UInt16 = 1) -> PacketBuilder {
        ipv6
            ? builder.ipv6(src: source6, dst: destination6, flowLabel: UInt32(identification))
            : builder.ipv4(src: source4, dst: destination4, identification: identification)
    }

    /// A packet of this flow on `link`; `payload` and `identification` vary what the hash ignores.
    func packet(
        on link: LinkType, tags: [UInt16] = [], payload: [UInt8] = [], identification: UInt16 = 1
    ) -> Packet {
        let builder = network(Flow.frame(link, tags: tags), identification: identification)
        let full: PacketBuilder
        switch transport {
        case .tcp:
            full = builder.tcp(
                sourcePort: sourcePort, destinationPort: destinationPort, sequence: UInt32(identification))
        case .udp:
            full = builder.udp(sourcePort: sourcePort, destinationPort: destinationPort)
        case .sctp:
            // Ports, verification tag, checksum.
            var header: [UInt8] = []
            ByteOrder.appendBigEndian(sourcePort, to: &header)
            ByteOrder.appendBigEndian(destinationPort, to: &header)
            ByteOrder.appendBigEndian(UInt64(identification), to: &header)
            return Packet(
                bytes: builder.payload(header + payload, ipProtocol: Flow.sctp).bytes, linkType: link)
        case .icmp:
            full = ipv6 ? builder.icmp6(type: 128) : builder.icmp4(type: 8)
        }
        return Packet(bytes: full.payload(payload).bytes, linkType: link)
    }
}

private func flowHash(_ packet: Packet) -> UInt32 {
    let hasher = FlowHasher(linkType: packet.linkType)
    return packet.bytes.withUnsafeBytes { hasher.hash($0) }
}

private func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// Both directions of a flow meet one worker; flows spread evenly; any prefix of any packet is
/// hashed without reading past it; every fragment of a datagram hashes alike.
@Suite struct FlowHashTests {
    @Test func bothDirectionsOnEveryLinkAndUnderAnyTagsHashAlike() {
        var generator = SeededGenerator(seed: 0xF10)
        for _ in 0..<1_500 {
            let flow = Flow.random(using: &generator)
            let expected = flowHash(flow.packet(on: .raw))
            for direction in [flow, flow.reversed] {
                for link in flow.links {
                    let tagCount =
                        link == .ethernet ? Int.random(in: 0...FlowHasher.maxVLANTags, using: &generator) : 0
                    let tags = (0..<tagCount).map { _ in generator.pick(EtherType.vlanTags) }
                    let packet = direction.packet(
                        on: link, tags: tags,
                        payload: randomBytes(Int.random(in: 0...40, using: &generator), using: &generator),
                        identification: UInt16.random(in: 0...UInt16.max, using: &generator))
                    #expect(flowHash(packet) == expected, "\(flow) on \(link) with tags \(tags)")
                }
            }
        }
    }

    /// Every part of the flow is hashed: a flow that differs in one address, one port or the
    /// protocol hashes differently (for these seeds, without one collision).
    @Test func everyPartOfTheFlowCounts() {
        var generator = SeededGenerator(seed: 0xF11)
        var collisions: [String] = []
        for _ in 0..<1_000 {
            let flow = Flow.random(using: &generator)
            let hash = flowHash(flow.packet(on: .ethernet))
            var variants: [(String, Flow)] = []
            var other = flow
            other.sourcePort &+= 1
            variants.append(("source port", other))
            other = flow
            other.destinationPort ^= 0x8000
            variants.append(("destination port", other))
            other = flow
            other.source4 = IPv4Address(flow.source4.value ^ 1)
            other.source6.low ^= 1
            variants.append(("source address", other))
            other = flow
            other.destination4 = IPv4Address(flow.destination4.value &+ 0x0100_0000)
            other.destination6.high ^= 1 << 63
            variants.append(("destination address", other))
            other = flow
            other.transport = flow.transport == .tcp ? .udp : .tcp
            variants.append(("protocol", other))
            other = flow
            swap(&other.sourcePort, &other.destinationPort)
            variants.append(("ports swapped without the addresses", other))
            let original = flow.packet(on: .ethernet)
            for (what, variant) in variants {
                let packet = variant.packet(on: .ethernet)
                if packet != original, flowHash(packet) == hash { collisions.append("\(what) of \(flow)") }
            }
        }
        #expect(collisions.isEmpty)
    }

    /// 10,000 flows over 2, 3, 4 and 8 workers: each worker within 10% of its share, for random
    /// flows and for the structured flows of one busy server (clients on consecutive addresses and
    /// ports).
    @Test(arguments: [2, 3, 4, 8])
    func flowsSpreadEvenlyOverWorkers(workers: Int) {
        let hasher = FlowHasher(linkType: .ethernet)
        for (name, hashes) in FlowHashTests.flowSets {
            var counts = [Int](repeating: 0, count: workers)
            for hash in hashes {
                let worker = hasher.worker(for: hash, of: workers)
                #expect((0..<workers).contains(worker))
                counts[worker] += 1
            }
            let mean = Double(hashes.count) / Double(workers)
            for count in counts {
                #expect(abs(Double(count) - mean) <= 0.1 * mean, "\(name) over \(workers) workers: \(counts)")
            }
        }
    }

    /// The low and the high bits are both well spread: 16 buckets of the low four and of the
    /// high four bits, each within 15% of its share.
    @Test func lowAndHighBitsAreSpread() {
        for (name, hashes) in FlowHashTests.flowSets {
            let buckets: [(String, (UInt32) -> Int)] = [
                ("low", { Int($0 & 0xF) }), ("high", { Int($0 >> 28) }),
            ]
            for (bits, bucket) in buckets {
                var counts = [Int](repeating: 0, count: 16)
                for hash in hashes { counts[bucket(hash)] += 1 }
                let mean = Double(hashes.count) / 16
                for count in counts {
                    #expect(abs(Double(count) - mean) <= 0.15 * mean, "\(name), \(bits) bits: \(counts)")
                }
            }
        }
    }

    /// Hashes of 10,000 flows each: random IPv4 and IPv6 flows, and clients on 100 consecutive
    /// addresses with 100 consecutive ports each, talking to one server, over IPv4 and IPv6.
    static let flowSets: [(String, [UInt32])] = {
        var generator = SeededGenerator(seed: 0xF12)
        let random = (0..<10_000).map { _ in Flow.random(using: &generator) }
        var sequential4: [Flow] = []
        var sequential6: [Flow] = []
        for client in 0..<100 {
            for port in 0..<100 {
                var flow = Flow(ipv6: false, transport: .tcp)
                flow.source4 = IPv4Address(10, 0, 0, UInt8(client))
                flow.destination4 = IPv4Address(192, 0, 2, 80)
                flow.source6 = IPv6Address(high: 0x2001_0DB8_0000_0001, low: UInt64(client))
                flow.destination6 = IPv6Address("2001:db8::80")!
                flow.sourcePort = UInt16(40_000 + port)
                flow.destinationPort = 443
                sequential4.append(flow)
                flow.ipv6 = true
                sequential6.append(flow)
            }
        }
        return [("random flows", random), ("one IPv4 server", sequential4), ("one IPv6 server", sequential6)]
            .map {
                (name, flows) in (name, flows.map { flowHash($0.packet(on: .ethernet)) })
            }
    }()

    @Test func workerIsMultiplyShift() {
        let hasher = FlowHasher(linkType: .raw)
        for workers in [1, 2, 3, 4, 7, 64] {
            #expect(hasher.worker(for: 0, of: workers) == 0)
            #expect(hasher.worker(for: .max, of: workers) == workers - 1)
            #expect(hasher.worker(for: 1 << 31, of: workers) == workers / 2)
        }
        #expect(hasher.worker(for: 0xC000_0000, of: 4) == 3)
        #expect(hasher.worker(for: 0xBFFF_FFFF, of: 4) == 2)
    }

    /// Every prefix of every packet (length 0 to all of it) is hashed from its own bytes only: the
    /// same prefix followed by different bytes hashes alike, and by itself in a buffer of its own
    /// size. Random packets (some cut short, some corrupt, some noise) on every link, and flows
    /// under tags.
    @Test func prefixesNeverReadPastTheirEnd() {
        var random = RandomPackets(seed: 0xF13)
        var packets: [Packet] = []
        for packet in random.batch(300) {
            packets.append(packet)
            for link in [LinkType.linuxCooked, .raw, .ipv4, .ipv6] {
                if let relinked = packet.relinked(as: link) { packets.append(relinked) }
            }
            // The same bytes read as another link's, whatever they hold.
            packets.append(Packet(bytes: packet.bytes, linkType: .raw))
        }
        var generator = SeededGenerator(seed: 0xF14)
        for _ in 0..<100 {
            let flow = Flow.random(using: &generator)
            packets.append(flow.packet(on: .ethernet, tags: [0x88A8, 0x8100], payload: [1, 2, 3]))
            packets.append(flow.packet(on: .linuxCooked))
            packets.append(flow.packet(on: flow.ipv6 ? .ipv6 : .ipv4))
        }
        for packet in packets {
            let hasher = FlowHasher(linkType: packet.linkType)
            for length in 0...packet.bytes.count {
                let prefix = Array(packet.bytes.prefix(length))
                let alone = prefix.withUnsafeBytes { hasher.hash($0) }
                for filler in [0x00, 0xFF, 0x45] as [UInt8] {
                    let padded = prefix + [UInt8](repeating: filler, count: 64)
                    let hash = padded.withUnsafeBytes {
                        hasher.hash(UnsafeRawBufferPointer(rebasing: $0[..<length]))
                    }
                    #expect(hash == alone, "\(packet.linkType) prefix \(prefix) then \(filler)")
                }
            }
        }
        #expect(FlowHasher(linkType: .ethernet).hash(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }

    /// Once the ports are captured the rest is never read: every longer prefix hashes as the whole
    /// packet. A prefix that cuts the ports hashes as the addresses and protocol alone, like a
    /// fragment of the flow.
    @Test func theHashEndsWithThePorts() {
        var generator = SeededGenerator(seed: 0xF15)
        for _ in 0..<200 {
            let flow = Flow.random(using: &generator)
            for link in flow.links {
                let packet = flow.packet(on: link, payload: randomBytes(16, using: &generator))
                let headers = flow.packet(on: link).bytes.count
                let portsEnd = headers - (flow.transport == .sctp ? 8 : flow.transport == .tcp ? 16 : 4)
                let whole = flowHash(packet)
                for length in portsEnd...packet.bytes.count {
                    #expect(flowHash(packet.truncated(to: length)) == whole)
                }
                let withoutPorts = flowHash(packet.truncated(to: portsEnd - 1))
                #expect(withoutPorts != whole)
                #expect(flowHash(packet.truncated(to: portsEnd - 4)) == withoutPorts)
            }
        }
    }

    /// The fragments of one datagram, in either direction, on any link, hash alike: IPv4 ones by
    /// the addresses and the protocol, as the same flow with its ports cut off; IPv6 ones by the
    /// addresses and the fragment header's next header.
    @Test func fragmentsOfADatagramHashAlike() {
        var generator = SeededGenerator(seed: 0xF16)
        for _ in 0..<300 {
            var flow = Flow.random(using: &generator)
            flow.transport = generator.pick([.tcp, .udp])
            let identification = UInt16.random(in: 0...UInt16.max, using: &generator)
            let fragments = FlowHashTests.fragments(of: flow, identification: identification)
            let expected: UInt32
            if flow.ipv6 {
                expected = flowHash(Packet(bytes: fragments[0](PacketBuilder.raw()).bytes, linkType: .raw))
            } else {
                let unfragmented = flow.packet(on: .raw)
                expected = flowHash(unfragmented.truncated(to: Header.ip4.minimumLength))
                #expect(expected != flowHash(unfragmented))
            }
            for direction in [flow, flow.reversed] {
                for link in flow.links {
                    let tags = link == .ethernet ? [UInt16(0x8100)] : []
                    for fragment in FlowHashTests.fragments(of: direction, identification: identification) {
                        let packet = Packet(
                            bytes: fragment(Flow.frame(link, tags: tags)).bytes, linkType: link)
                        #expect(flowHash(packet) == expected, "\(flow) on \(link): \(packet.bytes)")
                    }
                }
            }
        }
    }

    /// A datagram of `flow` in three fragments: the first with the transport header, a middle and
    /// a last one with payload only.
    private static func fragments(of flow: Flow, identification: UInt16) -> [(PacketBuilder) -> PacketBuilder]
    {
        let proto = flow.transport == .tcp ? IPProtocol.tcp : IPProtocol.udp
        let data = [UInt8](repeating: 0xAB, count: 24)
        let transport = { (builder: PacketBuilder) in
            flow.transport == .tcp
                ? builder.tcp(sourcePort: flow.sourcePort, destinationPort: flow.destinationPort)
                : builder.udp(sourcePort: flow.sourcePort, destinationPort: flow.destinationPort)
        }
        if flow.ipv6 {
            let network = { (builder: PacketBuilder) in
                builder.ipv6(src: flow.source6, dst: flow.destination6)
            }
            let id = UInt32(identification)
            return [
                { transport(network($0).ipv6Fragment(offset: 0, moreFragments: true, identification: id)) },
                {
                    network($0).ipv6Fragment(offset: 3, moreFragments: true, identification: id).payload(
                        data, ipProtocol: proto)
                },
                {
                    network($0).ipv6Fragment(offset: 6, moreFragments: false, identification: id).payload(
                        data, ipProtocol: proto)
                },
            ]
        }
        let network = { (builder: PacketBuilder, flags: UInt8, offset: UInt16) in
            builder.ipv4(
                src: flow.source4, dst: flow.destination4, identification: identification, flags: flags,
                fragmentOffset: offset, protocolNumber: proto)
        }
        return [
            { transport(network($0, 0b001, 0)) },
            { network($0, 0b001, 3).payload(data) },
            { network($0, 0b000, 6).payload(data) },
            // Don't-fragment with an offset: still a fragment by its offset.
            { network($0, 0b010, 6).payload(data) },
        ]
    }

    /// Packets that are not IP hash by their EtherType alone: an ARP request and its reply meet,
    /// and so do frames past a third VLAN tag (two are stepped over, not more).
    @Test func nonIPPacketsHashByTheirEtherType() {
        let a = IPv4Address(10, 0, 0, 1)
        let b = IPv4Address(10, 0, 0, 2)
        let request = PacketBuilder.ethernet().arp(operation: 1, senderIP: a, targetIP: b).packet
        let reply = PacketBuilder.ethernet().vlan(id: 7).arp(operation: 2, senderIP: b, targetIP: a).packet
        #expect(flowHash(request) == flowHash(reply))
        #expect(flowHash(request) != flowHash(PacketBuilder.ethernet().payload([1, 2, 3]).packet))
        let deep = { (flow: Flow) in
            flow.packet(on: .ethernet, tags: [0x88A8, 0x8100, 0x8100])
        }
        var generator = SeededGenerator(seed: 0xF17)
        let first = Flow.random(using: &generator)
        let second = Flow.random(using: &generator)
        #expect(flowHash(deep(first)) == flowHash(deep(second)))
        #expect(flowHash(first.packet(on: .ethernet)) != flowHash(second.packet(on: .ethernet)))
        // A raw packet of another IP version, and frames too short for an EtherType.
        #expect(
            flowHash(Packet(bytes: [0x50, 1, 2], linkType: .raw))
                == flowHash(Packet(bytes: [0x5F], linkType: .raw)))
        #expect(flowHash(Packet(bytes: Array(repeating: 0x08, count: 13), linkType: .ethernet)) == 0)
    }
}
