/// One packet as a capture delivers it: the captured bytes, the length it had on the wire, and the
/// link type that says how to read its first byte.
public struct Packet: Sendable, Hashable {
    public var bytes: [UInt8]
    public var originalLength: Int
    public var linkType: LinkType

    public init(bytes: [UInt8], originalLength: Int? = nil, linkType: LinkType = .ethernet) {
        self.bytes = bytes
        self.originalLength = originalLength ?? bytes.count
        self.linkType = linkType
    }

    public var capturedLength: Int { bytes.count }

    /// The same packet cut to `length` captured bytes, as a short snaplen would leave it.
    public func truncated(to length: Int) -> Packet {
        Packet(bytes: Array(bytes.prefix(length)), originalLength: originalLength, linkType: linkType)
    }
}
