/// The one definition of how filters read packets: the 64 KiB window loads may reach, the mask
/// that keeps every bit of a load, and big-endian loads of 1, 2 or 4 bytes. The reference
/// evaluator, the trie walker, the verifier and the interpreter all read through these.
public enum PacketLoad {
    /// The bytes a filter can address: every load ends within the first 64 KiB of a packet.
    public static let window = 65536

    /// The mask that keeps every bit of a `width`-byte load: all ones from 4 bytes up, none for
    /// 0 or less. Defined for every width, so tools can print a load the verifier would refuse.
    @inlinable @inline(__always)
    public static func fullMask(width: Int) -> UInt32 {
        width >= 4 ? .max : width <= 0 ? 0 : (1 << (8 * UInt32(width))) - 1
    }

    /// The big-endian value of the `width` bytes at `start`, unchecked: the caller has proven
    /// `start + width` within the packet. Width 1 or 2 reads that many bytes; any other width
    /// reads 4.
    @inlinable @inline(__always)
    public static func bigEndian(_ width: Int, _ packet: UnsafeRawPointer, _ start: Int) -> UInt32 {
        switch width {
        case 1: UInt32(packet.load(fromByteOffset: start, as: UInt8.self))
        case 2: UInt32(UInt16(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt16.self)))
        default: UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: start, as: UInt32.self))
        }
    }

    /// The big-endian value of the `width` (1, 2 or 4) bytes at `offset`, or `nil` when they reach
    /// outside the captured bytes or the width is another. Never traps.
    @inlinable @inline(__always)
    public static func bigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int, width: Int) -> UInt32? {
        guard width == 1 || width == 2 || width == 4, offset >= 0, offset <= bytes.count - width,
            let base = bytes.baseAddress
        else { return nil }
        return bigEndian(width, base, offset)
    }

    /// The big-endian value of the `width` (1, 2 or 4) bytes at `offset`, or `nil` when they reach
    /// outside `bytes` or the width is another. Never traps.
    @inlinable @inline(__always)
    public static func bigEndian(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt32? {
        bytes.withUnsafeBytes { bigEndian($0, at: offset, width: width) }
    }
}

/// Writing integers into byte arrays, for the packet builder (big-endian, network order) and the
/// file writers (`.dpfc` programs and pcap files, little-endian). The one copy of each.
public enum ByteOrder {
    /// Appends `value`'s bytes, least significant first.
    @inlinable
    public static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in 0..<MemoryLayout<T>.size {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    /// Appends `value`'s bytes, most significant first.
    @inlinable
    public static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        for index in (0..<MemoryLayout<T>.size).reversed() {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    /// Overwrites the bytes at `offset` with `value`, most significant first; traps if they do not
    /// fit (a programmer error).
    @inlinable
    public static func storeBigEndian<T: FixedWidthInteger>(
        _ value: T, into bytes: inout [UInt8], at offset: Int
    ) {
        let size = MemoryLayout<T>.size
        for index in 0..<size {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (size - 1 - index)))
        }
    }
}
