/// Packets back to back in one buffer, as a capture ring holds them, with a view of each, so an
/// engine walks them without copying or touching reference counts. A batch is filled once (from
/// arrays) or reused: `removeAll()` then `append(_:)` up to its capacity, so a replay copies each
/// packet once into memory allocated once. The views stay valid until the batch is changed.
public final class PacketBatch: @unchecked Sendable {
    private var storage: UnsafeMutableRawBufferPointer
    private let viewStorage: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>
    private var usedBytes = 0
    public private(set) var count = 0

    /// Packets the batch holds at most.
    public var capacity: Int { viewStorage.count }

    /// An empty batch for up to `capacity` packets of `byteCapacity` bytes together; a packet
    /// that does not fit grows the byte buffer (appending stays possible whatever the sizes).
    public init(capacity: Int, byteCapacity: Int) {
        storage = .allocate(byteCount: max(1, byteCapacity), alignment: 16)
        viewStorage = .allocate(capacity: max(1, capacity))
    }

    /// A batch holding `packets`, exactly sized.
    public convenience init(_ packets: [[UInt8]]) {
        self.init(capacity: packets.count, byteCapacity: packets.reduce(0) { $0 + $1.count })
        for packet in packets { packet.withUnsafeBytes { _ = append($0) } }
    }

    deinit {
        storage.deallocate()
        viewStorage.deallocate()
    }

    /// One view per packet, in order.
    public var views: UnsafeBufferPointer<UnsafeRawBufferPointer> {
        UnsafeBufferPointer(rebasing: viewStorage[0..<count])
    }

    public var isFull: Bool { count == capacity }

    /// Copies `packet` in after the others; false (and nothing copied) when the batch is full.
    @discardableResult
    public func append(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard count < capacity else { return false }
        if usedBytes + packet.count > storage.count { grow(toFit: usedBytes + packet.count) }
        let bytes = UnsafeMutableRawBufferPointer(rebasing: storage[usedBytes..<(usedBytes + packet.count)])
        if let source = packet.baseAddress, !packet.isEmpty {
            bytes.copyMemory(from: .init(start: source, count: packet.count))
        }
        viewStorage[count] = UnsafeRawBufferPointer(bytes)
        usedBytes += packet.count
        count += 1
        return true
    }

    /// Forgets every packet, keeping the memory.
    public func removeAll() {
        count = 0
        usedBytes = 0
    }

    /// Calls `body` with each packet's bytes; returns the sum of what it returns.
    @inline(__always)
    public func sum(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        var total = 0
        for packet in views { total &+= body(packet) }
        return total
    }

    /// Moves the bytes to a buffer at least twice as large and re-points the views.
    private func grow(toFit needed: Int) {
        let larger = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(needed, 2 * storage.count), alignment: 16)
        larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<usedBytes]))
        let oldBase = UnsafeRawPointer(storage.baseAddress!)
        for index in 0..<count {
            let view = viewStorage[index]
            let start = view.baseAddress.map { $0 - oldBase } ?? 0
            viewStorage[index] = UnsafeRawBufferPointer(rebasing: larger[start..<(start + view.count)])
        }
        storage.deallocate()
        storage = larger
    }
}
