import CPcap
import DPFWire

/// libpcap's DLT_ values for DPF's link types, one table read both ways.
enum DataLink {
    static let values: [(LinkType, Int32)] = [
        (.ethernet, DLT_EN10MB), (.raw, DLT_RAW), (.linuxCooked, DLT_LINUX_SLL), (.ipv4, 228), (.ipv6, 229),
    ]

    /// The DLT_ value libpcap compiles filters for `linkType` with.
    static func value(for linkType: LinkType) -> Int32 { values.first { $0.0 == linkType }!.1 }

    /// The link type of a capture whose handle reports `dlt`, or nil for one DPF does not
    /// demultiplex. Raw IP also arrives as 101, its LINKTYPE_ value (DLT and LINKTYPE differ there).
    static func linkType(for dlt: Int32) -> LinkType? {
        dlt == 101 ? .raw : values.first { $0.1 == dlt }?.0
    }
}
