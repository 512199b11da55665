/// Link-layer header types DPF demultiplexes, numbered as in pcap files (LINKTYPE_* values).
public enum LinkType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ethernet = 1
    case raw = 101
    case linuxCooked = 113
    case ipv4 = 228
    case ipv6 = 229

    /// The names the command line accepts (`--link-type`).
    public var name: String {
        switch self {
        case .ethernet: return "ethernet"
        case .raw: return "raw"
        case .linuxCooked: return "linux-sll"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        }
    }

    public var description: String { name }

    /// libpcap's name for the link type (`pcap_datalink_val_to_name`, tcpdump's `-y`), for
    /// messages that also name link types DPF does not know.
    public var pcapName: String {
        switch self {
        case .ethernet: return "EN10MB"
        case .raw: return "RAW"
        case .linuxCooked: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        }
    }

    public init?(name: String) {
        guard let match = LinkType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// Where the link layer puts things, for this link type.
    public var layout: LinkLayout { LinkLayout(linkType: self) }
}

/// How to find the network layer on a link type.
public struct LinkLayout: Sendable, Hashable {
    public let linkType: LinkType

    /// True when frames carry an Ethernet header (`eth.*` fields, VLAN tags).
    public var hasEthernetHeader: Bool { linkType == .ethernet }

    /// Offset of the first VLAN tag or EtherType, when the link carries an EtherType.
    public var untaggedEtherTypeOffset: Int? {
        switch linkType {
        case .ethernet: return 12
        case .linuxCooked: return 14
        case .raw, .ipv4, .ipv6: return nil
        }
    }

    /// Offset of the EtherType once `vlanDepth` tags have been stepped over.
    public func etherTypeOffset(vlanDepth: Int) -> Int? {
        untaggedEtherTypeOffset.map { $0 + VLANLayout.tagLength * vlanDepth }
    }

    /// Offset of the network header once `vlanDepth` tags have been stepped over.
    public func networkOffset(vlanDepth: Int) -> Int {
        switch linkType {
        case .ethernet: return 14 + VLANLayout.tagLength * vlanDepth
        case .linuxCooked: return 16
        case .raw, .ipv4, .ipv6: return 0
        }
    }

    /// Offset of the `depth`-th VLAN tag (1 is the outermost), measured from its TPID.
    public func vlanTagOffset(depth: Int) -> Int {
        precondition(hasEthernetHeader && depth >= 1)
        return 12 + VLANLayout.tagLength * (depth - 1)
    }
}

public enum VLANLayout {
    public static let tagLength = 4
}
