/// Packets back to back in one buffer, as a capture ring holds them, with a view of each, so an
/// engine walks them without touching reference counts. The batch owns its memory; the views stay
/// valid while it lives.
public final class PacketBatch: @unchecked Sendable {
    /// One view per packet, in order.
    public let views: UnsafeBufferPointer<UnsafeRawBufferPointer>
    private let storage: UnsafeMutableRawBufferPointer
    private let viewStorage: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>

    public init(_ packets: [[UInt8]]) {
        let total = packets.reduce(0) { $0 + $1.count }
        storage = .allocate(byteCount: max(1, total), alignment: 16)
        viewStorage = .allocate(capacity: max(1, packets.count))
        var start = 0
        for (index, packet) in packets.enumerated() {
            let bytes = UnsafeMutableRawBufferPointer(rebasing: storage[start..<(start + packet.count)])
            bytes.copyBytes(from: packet)
            viewStorage[index] = UnsafeRawBufferPointer(bytes)
            start += packet.count
        }
        views = UnsafeBufferPointer(rebasing: viewStorage[0..<packets.count])
    }

    deinit {
        storage.deallocate()
        viewStorage.deallocate()
    }

    public var count: Int { views.count }

    /// Calls `body` with each packet's bytes; returns the sum of what it returns.
    @inline(__always)
    public func sum(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        var total = 0
        for packet in views { total &+= body(packet) }
        return total
    }
}
