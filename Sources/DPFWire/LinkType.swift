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

    /// Length of the link-layer header in front of the first VLAN tag or the network header:
    /// Ethernet's minimum header, the Linux cooked header, none for raw IP.
    public var headerLength: Int {
        switch linkType {
        case .ethernet: return Header.eth.minimumLength
        case .linuxCooked: return LinuxCookedLayout.headerLength
        case .raw, .ipv4, .ipv6: return 0
        }
    }

    /// Offset of the first VLAN tag or EtherType, when the link carries an EtherType.
    public var untaggedEtherTypeOffset: Int? {
        switch linkType {
        case .ethernet: return LinkLayout.ethernetTypeOffset
        case .linuxCooked: return LinuxCookedLayout.protocolOffset
        case .raw, .ipv4, .ipv6: return nil
        }
    }

    /// Offset of the EtherType once `vlanDepth` tags have been stepped over.
    public func etherTypeOffset(vlanDepth: Int) -> Int? {
        untaggedEtherTypeOffset.map { $0 + VLANLayout.tagLength * vlanDepth }
    }

    /// Offset of the network header once `vlanDepth` tags have been stepped over (only Ethernet
    /// frames carry tags).
    public func networkOffset(vlanDepth: Int) -> Int {
        hasEthernetHeader ? headerLength + VLANLayout.tagLength * vlanDepth : headerLength
    }

    /// Offset of the `depth`-th VLAN tag (1 is the outermost), measured from its TPID: the first
    /// tag's TPID sits where the untagged frame's EtherType does.
    public func vlanTagOffset(depth: Int) -> Int {
        precondition(hasEthernetHeader && depth >= 1)
        return LinkLayout.ethernetTypeOffset + VLANLayout.tagLength * (depth - 1)
    }

    /// Where an untagged Ethernet frame has its EtherType, from the field table.
    private static let ethernetTypeOffset = FieldTable.field(.eth, "type").offset
}

public enum VLANLayout {
    /// A tag's TPID and TCI; the EtherType it carries follows it.
    public static let tagLength = 4
}

/// The Linux cooked-capture header (LINKTYPE_LINUX_SLL), which stands in for the Ethernet header.
public enum LinuxCookedLayout {
    /// The packet type (to us, broadcast, ...), 2 bytes.
    public static let packetTypeOffset = 0
    /// The ARPHRD_ link-layer device type, 2 bytes.
    public static let deviceTypeOffset = 2
    /// The length of the link-layer address, 2 bytes.
    public static let addressLengthOffset = 4
    /// The link-layer address, padded to `addressCapacity` bytes.
    public static let addressOffset = 6
    public static let addressCapacity = 8
    /// The protocol: an EtherType, 2 bytes.
    public static let protocolOffset = 14
    public static let headerLength = 16
    /// ARPHRD_ETHER: the device is Ethernet, with 6-byte addresses.
    public static let ethernetDeviceType: UInt16 = 1
}
