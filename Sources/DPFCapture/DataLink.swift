import CPcap
import DPFWire

/// libpcap's DLT_ values for DPF's link types, one table read both ways, and libpcap's names for
/// link types, so that messages say "LINUX_SLL2 (276)" rather than a bare number.
public enum DataLink {
    static let values: [(LinkType, Int32)] = [
        (.ethernet, DLT_EN10MB), (.raw, DLT_RAW), (.linuxCooked, DLT_LINUX_SLL), (.ipv4, 228), (.ipv6, 229),
        (.null, DLT_NULL), (.loop, DLT_LOOP), (.linuxCooked2, 276),
    ]

    /// The DLT_ value libpcap compiles filters for `linkType` with.
    static func value(for linkType: LinkType) -> Int32 { values.first { $0.0 == linkType }!.1 }

    /// The link type of a capture whose handle reports `dlt`, or nil for one DPF does not
    /// demultiplex. Raw IP also arrives as 101, its LINKTYPE_ value (DLT and LINKTYPE differ there).
    static func linkType(for dlt: Int32) -> LinkType? {
        dlt == 101 ? .raw : values.first { $0.1 == dlt }?.0
    }

    /// libpcap's name for a DLT_ value, as `pcap_datalink_val_to_name` gives it ("LINUX_SLL2"),
    /// or nil when libpcap has none.
    public static func name(ofDataLinkType dlt: Int32) -> String? {
        pcap_datalink_val_to_name(dlt).map { String(cString: $0) }
    }

    /// "LINUX_SLL2 (276)" for a DLT_ value as a libpcap handle reports it; the bare number when
    /// libpcap has no name for it.
    public static func describe(dataLinkType dlt: Int32) -> String {
        name(ofDataLinkType: dlt).map { "\($0) (\(dlt))" } ?? String(dlt)
    }

    /// The same for a LINKTYPE_ value as pcap files and compiled programs store it. The two
    /// numberings agree except for raw IP (LINKTYPE_RAW is 101, DLT_RAW 12 or 14).
    public static func describe(linkTypeValue: UInt32) -> String {
        let dlt = linkTypeValue == LinkType.raw.rawValue ? DLT_RAW : Int32(truncatingIfNeeded: linkTypeValue)
        let name = linkTypeValue <= UInt32(Int32.max) ? self.name(ofDataLinkType: dlt) : nil
        return name.map { "\($0) (\(linkTypeValue))" } ?? String(linkTypeValue)
    }
}
