/// What kind of value a field holds; decides which literals it accepts and how values print.
public enum FieldKind: Sendable, Hashable {
    case integer
    case ipv4Address
    case ipv6Address
    case macAddress
}

/// One named field: where it lives in its header and which bits of the load belong to it.
///
/// Fields up to 4 bytes wide are a single big-endian load of `width` bytes masked with `mask`;
/// the field's value is `(load & mask) >> shift`. Wider fields (MAC and IPv6 addresses) are
/// compared as consecutive 4- and 2-byte words.
public struct FieldDescriptor: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let header: Header
    public let offset: Int
    public let width: Int
    public let mask: UInt32
    public let kind: FieldKind
    /// The field moves past VLAN tags: its offset holds on an untagged frame and grows by one tag
    /// per tag stepped over (`LinkLayout.etherTypeOffset`). Only the EtherType does this.
    public let followsVLANTags: Bool

    public init(
        _ name: String, header: Header, offset: Int, width: Int, mask: UInt32? = nil,
        kind: FieldKind = .integer, followsVLANTags: Bool = false
    ) {
        precondition([1, 2, 4, 6, 16].contains(width), "field width must be 1, 2, 4, 6 or 16 bytes")
        self.name = name
        self.header = header
        self.offset = offset
        self.width = width
        self.mask = mask ?? PacketLoad.fullMask(width: width)
        self.kind = kind
        self.followsVLANTags = followsVLANTags
    }

    public var description: String { name }

    /// True for fields that fit one load (width 1, 2 or 4).
    public var isScalar: Bool { width <= 4 }

    /// Right shift that turns the masked load into the field's value.
    public var shift: Int { isScalar ? mask.trailingZeroBitCount : 0 }

    /// Number of value bits.
    public var bitCount: Int { isScalar ? mask.nonzeroBitCount : 8 * width }

    /// The largest value the field can hold (scalar fields only).
    public var maxValue: UInt64 {
        precondition(isScalar)
        return UInt64(mask >> UInt32(shift))
    }

    /// Reads a field of up to 8 bytes (all but IPv6 addresses) from `bytes` where its header starts at
    /// `headerStart`; `nil` if the bytes end first. Use `bytes(from:headerStart:)` for wider fields.
    public func read(from bytes: [UInt8], headerStart: Int) -> UInt64? {
        precondition(width <= 8, "\(name) is \(width) bytes wide; read it with bytes(from:headerStart:)")
        if isScalar {
            return PacketLoad.bigEndian(bytes, at: headerStart + offset, width: width).map {
                UInt64(($0 & mask) >> UInt32(shift))
            }
        }
        guard let raw = self.bytes(from: bytes, headerStart: headerStart) else { return nil }
        return raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// The field's raw bytes, or `nil` if the bytes end first.
    public func bytes(from bytes: [UInt8], headerStart: Int) -> ArraySlice<UInt8>? {
        let start = headerStart + offset
        guard start >= 0, start + width <= bytes.count else { return nil }
        return bytes[start..<(start + width)]
    }

    /// Writes `value` into a scalar field, leaving the bits outside the field's mask untouched.
    public func write(_ value: UInt64, into bytes: inout [UInt8], headerStart: Int) {
        precondition(isScalar, "write(_:into:headerStart:) is for scalar fields")
        precondition(value <= maxValue, "\(value) does not fit \(name)")
        let start = headerStart + offset
        var word: UInt32 = 0
        for index in start..<(start + width) { word = word << 8 | UInt32(bytes[index]) }
        word = (word & ~mask) | (UInt32(value) << UInt32(shift) & mask)
        for index in (start..<(start + width)).reversed() {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
        }
    }

    /// Writes raw bytes (an address) into a wide field.
    public func write(bytes value: [UInt8], into bytes: inout [UInt8], headerStart: Int) {
        precondition(value.count == width, "\(name) takes \(width) bytes")
        bytes.replaceSubrange((headerStart + offset)..<(headerStart + offset + width), with: value)
    }
}
