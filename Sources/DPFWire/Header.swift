/// The protocol headers DPF knows, named as the filter language names them.
///
/// A header's *start* is located by the link layout (for `eth`, `vlan` and the network layer) or by
/// the header below it (for the transport layer); fields are offsets from that start.
public enum Header: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case eth
    case vlan
    case arp
    case ip4
    case ip6
    case tcp
    case udp
    case icmp4
    case icmp6

    public var description: String { rawValue }

    /// The smallest well-formed header, in bytes.
    public var minimumLength: Int {
        switch self {
        case .eth: return 14
        case .vlan: return 4
        case .arp: return 28
        case .ip4: return 20
        case .ip6: return 40
        case .tcp: return 20
        case .udp: return 8
        case .icmp4: return 8
        case .icmp6: return 8
        }
    }

    /// The IP protocol number that announces this header, for transport headers.
    public var ipProtocol: UInt8? {
        switch self {
        case .tcp: return IPProtocol.tcp
        case .udp: return IPProtocol.udp
        case .icmp4: return IPProtocol.icmp4
        case .icmp6: return IPProtocol.icmp6
        default: return nil
        }
    }

    /// The network header that carries this transport header; `nil` if either IPv4 or IPv6 may.
    public var requiredNetwork: Header? {
        switch self {
        case .icmp4: return .ip4
        case .icmp6: return .ip6
        default: return nil
        }
    }
}

/// EtherType values (IEEE 802 numbers) that filters test.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86DD
    /// Tag protocol identifiers accepted as a VLAN tag, as libpcap's `vlan` accepts them:
    /// 802.1Q, 802.1ad (QinQ service tag) and the pre-standard QinQ 0x9100.
    public static let vlanTags: [UInt16] = [0x8100, 0x88A8, 0x9100]
}

/// IP protocol numbers (IANA).
public enum IPProtocol {
    public static let icmp4: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let ipv6Fragment: UInt8 = 44
    public static let icmp6: UInt8 = 58
}

/// Layout facts that are not named fields.
public enum IPv6Layout {
    /// Length of the fixed IPv6 header; a transport header that follows it directly starts here.
    public static let fixedHeaderLength = 40
    /// Length of the IPv6 fragment extension header.
    public static let fragmentHeaderLength = 8
    /// Offset of the next-header byte inside an extension header.
    public static let extensionNextHeaderOffset = 0
    /// Offset of the fragment header's 16-bit word holding the fragment offset (in 8-byte units,
    /// shifted left by `fragmentOffsetShift`) and the more-fragments flag (bit 0).
    public static let fragmentOffsetOffset = 2
    public static let fragmentOffsetShift = 3
    /// Offset of the fragment header's 32-bit identification.
    public static let fragmentIdentificationOffset = 4
}

public enum IPv4Layout {
    /// The IPv4 header length is `4 * (ip4[0] & 0x0f)` bytes: DPF's canonical *shift*.
    public static let headerLengthScale = 4
}
