import DPFWire

/// Writes classic pcap files (microsecond timestamps, little-endian), as tcpdump -w does.
public enum PcapWriter {
    /// The file's bytes for `packets`, timestamped one microsecond apart from `startSeconds`.
    public static func encode(
        _ packets: [Packet], linkType: LinkType = .ethernet, snapshotLength: UInt32 = 262_144,
        startSeconds: UInt32 = 1_700_000_000
    )
        -> [UInt8]
    {
        var bytes: [UInt8] = []
        func u32(_ value: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            }
        }
        func u16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        u32(0xA1B2_C3D4)
        u16(2)
        u16(4)
        u32(0)
        u32(0)
        u32(snapshotLength)
        u32(linkType.rawValue)
        for (index, packet) in packets.enumerated() {
            u32(startSeconds)
            u32(UInt32(index % 1_000_000))
            u32(UInt32(packet.capturedLength))
            u32(UInt32(packet.originalLength))
            bytes += packet.bytes
        }
        return bytes
    }
}
