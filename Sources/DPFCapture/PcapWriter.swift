import DPFWire

/// Writes classic pcap files (microsecond timestamps, little-endian), as tcpdump -w does.
///
/// `encode` builds a whole file in memory; `header` and `record` give the same bytes piece by
/// piece, so a command can stream a large capture to its output file (`OutputFile` in
/// DPFCommands) one record at a time.
public enum PcapWriter {
    /// The file's bytes for `packets`, timestamped one microsecond apart from `startSeconds`.
    public static func encode(
        _ packets: [Packet], linkType: LinkType = .ethernet, snapshotLength: UInt32 = 262_144,
        startSeconds: UInt32 = 1_700_000_000
    )
        -> [UInt8]
    {
        var bytes = header(linkType: linkType, snapshotLength: snapshotLength)
        for (index, packet) in packets.enumerated() {
            record(packet, seconds: startSeconds, microseconds: UInt32(index % 1_000_000), into: &bytes)
        }
        return bytes
    }

    /// The 24-byte file header.
    public static func header(linkType: LinkType = .ethernet, snapshotLength: UInt32 = 262_144) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append32(0xA1B2_C3D4, to: &bytes)
        append16(2, to: &bytes)
        append16(4, to: &bytes)
        append32(0, to: &bytes)
        append32(0, to: &bytes)
        append32(snapshotLength, to: &bytes)
        append32(linkType.rawValue, to: &bytes)
        return bytes
    }

    /// Appends one record: its 16-byte header, then the packet's captured bytes.
    public static func record(
        _ packet: Packet, seconds: UInt32, microseconds: UInt32, into bytes: inout [UInt8]
    ) {
        append32(seconds, to: &bytes)
        append32(microseconds, to: &bytes)
        append32(UInt32(truncatingIfNeeded: packet.capturedLength), to: &bytes)
        append32(UInt32(truncatingIfNeeded: packet.originalLength), to: &bytes)
        bytes += packet.bytes
    }

    private static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        ByteOrder.appendLittleEndian(value, to: &bytes)
    }

    private static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        ByteOrder.appendLittleEndian(value, to: &bytes)
    }
}
