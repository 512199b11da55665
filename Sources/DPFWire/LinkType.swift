/// Link-layer header types DPF demultiplexes, numbered as in pcap files (LINKTYPE_* values).
public enum LinkType: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// BSD loopback: a 4-byte address family in the byte order of the machine that captured.
    case null = 0
    case ethernet = 1
    case raw = 101
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    case loop = 108
    case linuxCooked = 113
    case ipv4 = 228
    case ipv6 = 229
    /// Linux cooked capture v2, what `tcpdump -i any` writes today.
    case linuxCooked2 = 276

    /// The names the command line accepts (`--link-type`).
    public var name: String {
        switch self {
        case .null: return "null"
        case .ethernet: return "ethernet"
        case .raw: return "raw"
        case .loop: return "loop"
        case .linuxCooked: return "linux-sll"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        case .linuxCooked2: return "linux-sll2"
        }
    }

    public var description: String { name }

    /// libpcap's name for the link type (`pcap_datalink_val_to_name`, tcpdump's `-y`), for
    /// messages that also name link types DPF does not know.
    public var pcapName: String {
        switch self {
        case .null: return "NULL"
        case .ethernet: return "EN10MB"
        case .raw: return "RAW"
        case .loop: return "LOOP"
        case .linuxCooked: return "LINUX_SLL"
        case .ipv4: return "IPV4"
        case .ipv6: return "IPV6"
        case .linuxCooked2: return "LINUX_SLL2"
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
    /// Ethernet's minimum header, a Linux cooked header, a loopback address family, none for raw
    /// IP.
    public var headerLength: Int {
        switch linkType {
        case .ethernet: return Header.eth.minimumLength
        case .linuxCooked: return LinuxCookedLayout.headerLength
        case .linuxCooked2: return LinuxCooked2Layout.headerLength
        case .null, .loop: return LoopbackLayout.headerLength
        case .raw, .ipv4, .ipv6: return 0
        }
    }

    /// Offset of the first VLAN tag or EtherType, when the link carries an EtherType.
    public var untaggedEtherTypeOffset: Int? {
        switch linkType {
        case .ethernet: return LinkLayout.ethernetTypeOffset
        case .linuxCooked: return LinuxCookedLayout.protocolOffset
        case .linuxCooked2: return LinuxCooked2Layout.protocolOffset
        case .null, .loop, .raw, .ipv4, .ipv6: return nil
        }
    }

    /// True when the link says which network protocol follows by an address family (BSD
    /// loopback), not by an EtherType or the IP version nibble.
    public var hasAddressFamily: Bool { linkType == .null || linkType == .loop }

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

/// The Linux cooked-capture v2 header (LINKTYPE_LINUX_SLL2): the protocol comes first.
public enum LinuxCooked2Layout {
    /// The protocol: an EtherType, 2 bytes.
    public static let protocolOffset = 0
    /// Reserved, 2 bytes (zero).
    public static let reservedOffset = 2
    /// The interface index, 4 bytes.
    public static let interfaceIndexOffset = 4
    /// The ARPHRD_ link-layer device type, 2 bytes.
    public static let deviceTypeOffset = 8
    /// The packet type (to us, broadcast, ...), 1 byte.
    public static let packetTypeOffset = 10
    /// The length of the link-layer address, 1 byte.
    public static let addressLengthOffset = 11
    /// The link-layer address, padded to 8 bytes.
    public static let addressOffset = 12
    public static let headerLength = 20
}

/// The BSD loopback header (LINKTYPE_NULL and LINKTYPE_LOOP): a 4-byte address family, in the
/// capturing machine's byte order for NULL and in network byte order for LOOP.
public enum LoopbackLayout {
    public static let headerLength = 4
    /// AF_INET, the same on every system.
    public static let ipv4Family: UInt32 = 2
    /// AF_INET6 as the BSDs number it (NetBSD and OpenBSD, FreeBSD, Darwin), the values libpcap
    /// accepts for `ip6` on these links.
    public static let ipv6Families: [UInt32] = [24, 28, 30]
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
