import DPFWire

/// A symmetric flow hash: spreads packets over worker threads so that both directions of a flow
/// meet the same worker and each flow keeps its order, as receive-side scaling with a symmetric
/// key does.
///
/// What a packet's hash covers:
///
/// - IPv4: the source and destination addresses and the protocol; for TCP, UDP and SCTP, the
///   source and destination ports too, when the packet is no fragment (more-fragments clear and
///   offset 0) and the ports were captured. Every fragment of a datagram hashes alike (none of
///   them is hashed by its ports); an unfragmented packet of the same flow may go elsewhere.
/// - IPv6: the addresses and the next header; the ports for TCP, UDP and SCTP when the next
///   header names one of them directly (no extension header is walked, so every fragment of a
///   datagram, next header 44, hashes alike).
/// - Anything else (ARP, an unknown EtherType or IP version, an IP header cut short): the EtherType
///   (or the IP version on raw links) alone. A frame too short for even that hashes to 0.
///
/// The network header is found as `LinkLayout` places it: past up to two VLAN tags (any TPID of
/// `EtherType.vlanTags`) on Ethernet, past the cooked header on Linux cooked captures, by the
/// version nibble on raw links and past the address family on loopback links (whose families
/// differ between systems), at the first byte on IPv4 and IPv6 links. The link itself is not
/// hashed: one flow hashes alike on every link type and under any tags.
///
/// Symmetry: each endpoint (address and port) becomes one 64-bit word, the two words are put in
/// order (smaller first) and only then mixed, so swapping source and destination changes nothing;
/// two rounds of murmur3's 64-bit finaliser spread every input bit over the high and the low bits
/// of the result. Every load is bounds checked against the buffer, nothing allocates, nothing
/// traps.
public struct FlowHasher: Sendable {
    public let linkType: LinkType
    private let framing: Framing
    private let offsets: Offsets
    /// `EtherType.vlanTags`, padded with its first: one vector compare instead of a walk of a global
    /// array per tag.
    private let vlanTags: SIMD4<UInt16>

    public init(linkType: LinkType) {
        self.linkType = linkType
        let layout = linkType.layout
        if let typeOffset = layout.untaggedEtherTypeOffset {
            framing = .etherType(
                offset: typeOffset, network: layout.networkOffset(vlanDepth: 0),
                maxTags: layout.hasEthernetHeader ? FlowHasher.maxVLANTags : 0)
        } else {
            switch linkType {
            case .ipv4: framing = .ipv4
            case .ipv6: framing = .ipv6
            default: framing = .ipVersion(network: layout.networkOffset(vlanDepth: 0))
            }
        }
        offsets = Offsets()
        let tags = EtherType.vlanTags
        precondition(!tags.isEmpty && tags.count <= 4, "FlowHasher compares up to four VLAN TPIDs")
        var vector = SIMD4(repeating: tags[0])
        for (index, tag) in tags.enumerated() { vector[index] = tag }
        vlanTags = vector
    }

    /// The most VLAN tags stepped over on the way to the network header.
    public static let maxVLANTags = 2

    /// The packet's flow hash; the same for both directions of a flow.
    @inline(__always)
    public func hash(_ packet: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = packet.baseAddress else { return 0 }
        let bytes = Bytes(base: base, count: packet.count)
        switch framing {
        case .etherType(let typeOffset, let network, let maxTags):
            var typeAt = typeOffset
            var networkAt = network
            guard bytes.has(typeAt, 2) else { return 0 }
            var etherType = bytes.u16(typeAt)
            var tags = 0
            while tags < maxTags, any(vlanTags .== SIMD4(repeating: etherType)),
                bytes.has(typeAt + VLANLayout.tagLength, 2)
            {
                typeAt += VLANLayout.tagLength
                networkAt += VLANLayout.tagLength
                etherType = bytes.u16(typeAt)
                tags += 1
            }
            switch etherType {
            case EtherType.ipv4: return ipv4(bytes, at: networkAt)
            case EtherType.ipv6: return ipv6(bytes, at: networkAt)
            default: return FlowHasher.mix(0, 0, tag: UInt64(etherType) << 8)
            }
        case .ipVersion(let network):
            guard bytes.has(network, 1) else { return 0 }
            switch bytes.u8(network) >> 4 {
            case 4: return ipv4(bytes, at: network)
            case 6: return ipv6(bytes, at: network)
            case let version: return FlowHasher.mix(0, 0, tag: UInt64(version) << 8)
            }
        case .ipv4:
            return ipv4(bytes, at: 0)
        case .ipv6:
            return ipv6(bytes, at: 0)
        }
    }

    /// The worker, in `0..<workers`, that takes packets of hash `hash`: multiply-shift, which
    /// keeps the hash's high bits and needs no division. `workers` must be positive.
    @inline(__always)
    public func worker(for hash: UInt32, of workers: Int) -> Int {
        precondition(workers > 0, "a flow needs at least one worker")
        return Int(truncatingIfNeeded: (UInt64(hash) &* UInt64(truncatingIfNeeded: workers)) >> 32)
    }

    // MARK: Network layer

    @inline(__always)
    private func ipv4(_ bytes: Bytes, at network: Int) -> UInt32 {
        let tag = UInt64(EtherType.ipv4) << 8
        guard bytes.has(network, Header.ip4.minimumLength) else { return FlowHasher.mix(0, 0, tag: tag) }
        let proto = bytes.u8(network + offsets.ipv4Protocol)
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        if FlowHasher.hasPorts(proto),
            bytes.u16(network + offsets.ipv4FragmentWord) & offsets.ipv4FragmentMask == 0
        {
            let headerLength =
                Int(bytes.u8(network + offsets.ipv4VersionAndLength) & offsets.ipv4LengthMask)
                * IPv4Layout.headerLengthScale
            let transport = network + headerLength
            if headerLength >= Header.ip4.minimumLength, bytes.has(transport, FlowHasher.portsLength) {
                sourcePort = bytes.u16(transport + offsets.sourcePort)
                destinationPort = bytes.u16(transport + offsets.destinationPort)
            }
        }
        let source = FlowHasher.endpoint(0, UInt64(bytes.u32(network + offsets.ipv4Source)), sourcePort)
        let destination = FlowHasher.endpoint(
            0, UInt64(bytes.u32(network + offsets.ipv4Destination)), destinationPort)
        return FlowHasher.mix(min(source, destination), max(source, destination), tag: tag | UInt64(proto))
    }

    @inline(__always)
    private func ipv6(_ bytes: Bytes, at network: Int) -> UInt32 {
        let tag = UInt64(EtherType.ipv6) << 8
        guard bytes.has(network, IPv6Layout.fixedHeaderLength) else { return FlowHasher.mix(0, 0, tag: tag) }
        let next = bytes.u8(network + offsets.ipv6NextHeader)
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        let transport = network + IPv6Layout.fixedHeaderLength
        if FlowHasher.hasPorts(next), bytes.has(transport, FlowHasher.portsLength) {
            sourcePort = bytes.u16(transport + offsets.sourcePort)
            destinationPort = bytes.u16(transport + offsets.destinationPort)
        }
        let sourceAt = network + offsets.ipv6Source
        let destinationAt = network + offsets.ipv6Destination
        let source = FlowHasher.endpoint(bytes.u64(sourceAt), bytes.u64(sourceAt + 8), sourcePort)
        let destination = FlowHasher.endpoint(
            bytes.u64(destinationAt), bytes.u64(destinationAt + 8), destinationPort)
        return FlowHasher.mix(min(source, destination), max(source, destination), tag: tag | UInt64(next))
    }

    // MARK: Mixing

    /// SCTP's protocol number; its ports sit where TCP's and UDP's do.
    private static let sctp: UInt8 = 132
    /// Bytes of a transport header that hold its two ports.
    private static let portsLength = 4

    @inline(__always)
    private static func hasPorts(_ proto: UInt8) -> Bool {
        proto == IPProtocol.tcp || proto == IPProtocol.udp || proto == sctp
    }

    /// One endpoint as a 64-bit word: the address folded to 64 bits (`high` is 0 for IPv4, whose
    /// word is then exactly `address << 16 | port`), rotated to make room for the port. Both
    /// endpoints go through the same function, so ordering the words orders the endpoints.
    @inline(__always)
    private static func endpoint(_ high: UInt64, _ low: UInt64, _ port: UInt16) -> UInt64 {
        let folded = high &* 0x9E37_79B9_7F4A_7C15 ^ low
        return (folded << 16 | folded >> 48) ^ UInt64(port)
    }

    /// The ordered endpoints and the tag (EtherType and protocol) mixed into 32 bits.
    @inline(__always)
    private static func mix(_ first: UInt64, _ second: UInt64, tag: UInt64) -> UInt32 {
        let mixed = finalize(finalize(first ^ tag &* 0xC2B2_AE3D_27D4_EB4F) ^ second)
        return UInt32(truncatingIfNeeded: mixed ^ mixed >> 32)
    }

    /// murmur3's `fmix64`: every input bit affects every output bit.
    @inline(__always)
    private static func finalize(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }

    // MARK: Layout

    private enum Framing: Sendable {
        /// An EtherType at `offset`, the network header at `network` when untagged, up to
        /// `maxTags` VLAN tags between.
        case etherType(offset: Int, network: Int, maxTags: Int)
        /// Raw IP, or IP behind a loopback header at `network`: the version nibble says which.
        case ipVersion(network: Int)
        case ipv4
        case ipv6
    }

    /// Field offsets, from the field table once, so the hot path does no lookups.
    private struct Offsets: Sendable {
        let ipv4VersionAndLength: Int
        let ipv4LengthMask: UInt8
        let ipv4FragmentWord: Int
        /// The more-fragments flag and the fragment offset.
        let ipv4FragmentMask: UInt16
        let ipv4Protocol: Int
        let ipv4Source: Int
        let ipv4Destination: Int
        let ipv6NextHeader: Int
        let ipv6Source: Int
        let ipv6Destination: Int
        let sourcePort: Int
        let destinationPort: Int

        init() {
            let ihl = FieldTable.field(.ip4, "ihl")
            let flags = FieldTable.field(.ip4, "flags")
            let fragment = FieldTable.field(.ip4, "frag")
            precondition(ihl.width == 1 && flags.width == 2 && flags.offset == fragment.offset)
            ipv4VersionAndLength = ihl.offset
            ipv4LengthMask = UInt8(ihl.mask)
            ipv4FragmentWord = fragment.offset
            // The flags are reserved, don't-fragment, more-fragments, most significant first.
            ipv4FragmentMask = UInt16(fragment.mask | 1 << UInt32(flags.shift))
            ipv4Protocol = FieldTable.field(.ip4, "proto").offset
            ipv4Source = FieldTable.field(.ip4, "src").offset
            ipv4Destination = FieldTable.field(.ip4, "dst").offset
            ipv6NextHeader = FieldTable.field(.ip6, "next").offset
            ipv6Source = FieldTable.field(.ip6, "src").offset
            ipv6Destination = FieldTable.field(.ip6, "dst").offset
            sourcePort = FieldTable.field(.tcp, "sport").offset
            destinationPort = FieldTable.field(.tcp, "dport").offset
            precondition(
                FieldTable.field(.udp, "sport").offset == sourcePort
                    && FieldTable.field(.udp, "dport").offset == destinationPort)
        }
    }

    /// Big-endian loads from a packet; `has` is the one bounds check, the loads trust it.
    private struct Bytes {
        let base: UnsafeRawPointer
        let count: Int

        /// True when the `length` bytes at `offset` were captured.
        @inline(__always)
        func has(_ offset: Int, _ length: Int) -> Bool { offset >= 0 && length <= count - offset }

        @inline(__always)
        func u8(_ offset: Int) -> UInt8 { base.load(fromByteOffset: offset, as: UInt8.self) }

        @inline(__always)
        func u16(_ offset: Int) -> UInt16 {
            UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        }

        @inline(__always)
        func u32(_ offset: Int) -> UInt32 {
            UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }

        @inline(__always)
        func u64(_ offset: Int) -> UInt64 {
            UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
    }
}
