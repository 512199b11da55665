import DPFWire

/// Packets borrowed from a source, a batch at a time: a view of each packet's captured bytes, its
/// length on the wire and its timestamp. The views point into memory the source keeps (its own
/// buffers, or this batch's byte storage) and stay valid until the batch is refilled.
///
/// Allocated once and refilled for the whole run: filling allocates nothing unless a packet does
/// not fit the byte storage (which then grows, once).
public final class SourceBatch: @unchecked Sendable {
    // @unchecked: a batch is filled by one thread, then only read until it is refilled; the
    // multiplexer's pipeline orders the two with its batch counters.
    public let capacity: Int
    public private(set) var count = 0
    let views: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>
    let wireLengths: UnsafeMutableBufferPointer<UInt32>
    let timestamps: UnsafeMutableBufferPointer<UInt64>
    /// Bytes for copied packets: none until the first copy (a source that lends its packets
    /// never needs them), then at least `byteCapacity`.
    private var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private let byteCapacity: Int
    private var usedBytes = 0

    /// A batch of up to `capacity` packets, with `byteCapacity` bytes for sources that copy.
    public init(capacity: Int, byteCapacity: Int = 0) {
        self.capacity = max(1, capacity)
        views = .allocate(capacity: self.capacity)
        wireLengths = .allocate(capacity: self.capacity)
        timestamps = .allocate(capacity: self.capacity)
        self.byteCapacity = max(16, byteCapacity)
    }

    deinit {
        views.deallocate()
        wireLengths.deallocate()
        timestamps.deallocate()
        storage.deallocate()
    }

    public var isFull: Bool { count == capacity }

    /// Forgets every packet (a source calls this first when it refills the batch).
    public func removeAll() {
        count = 0
        usedBytes = 0
    }

    /// Adds a packet the source keeps valid until the batch is refilled (no copy). False when full.
    @discardableResult
    public func appendBorrowed(_ bytes: UnsafeRawBufferPointer, wireLength: Int, timestamp: UInt64) -> Bool {
        guard count < capacity else { return false }
        views[count] = bytes
        wireLengths[count] = UInt32(clamping: wireLength)
        timestamps[count] = timestamp
        count += 1
        return true
    }

    /// Copies a packet into the batch's own storage. False (and nothing copied) when full.
    @discardableResult
    public func appendCopy(_ bytes: UnsafeRawBufferPointer, wireLength: Int, timestamp: UInt64) -> Bool {
        guard count < capacity else { return false }
        if usedBytes + bytes.count > storage.count { grow(toFit: usedBytes + bytes.count) }
        let target = UnsafeMutableRawBufferPointer(rebasing: storage[usedBytes..<(usedBytes + bytes.count)])
        if let source = bytes.baseAddress, !bytes.isEmpty {
            target.baseAddress!.copyMemory(from: source, byteCount: bytes.count)
        }
        usedBytes += bytes.count
        return appendBorrowed(UnsafeRawBufferPointer(target), wireLength: wireLength, timestamp: timestamp)
    }

    /// The packets' views, in order.
    public var packets: UnsafeBufferPointer<UnsafeRawBufferPointer> {
        UnsafeBufferPointer(rebasing: views[0..<count])
    }

    public func wireLength(at index: Int) -> Int { Int(wireLengths[index]) }
    public func timestamp(at index: Int) -> UInt64 { timestamps[index] }

    /// Moves the copied bytes to a larger buffer and re-points their views (borrowed views, which
    /// point elsewhere, are left alone).
    private func grow(toFit needed: Int) {
        let larger = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(needed, 2 * storage.count, byteCapacity), alignment: 16)
        guard let oldBase = storage.baseAddress else {
            storage = larger
            return
        }
        larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<usedBytes]))
        let oldStart = UnsafeRawPointer(oldBase)
        let oldEnd = oldStart + usedBytes
        for index in 0..<count {
            guard let start = views[index].baseAddress, start >= oldStart, start < oldEnd else { continue }
            let offset = start - oldStart
            views[index] = UnsafeRawBufferPointer(rebasing: larger[offset..<(offset + views[index].count)])
        }
        storage.deallocate()
        storage = larger
    }
}

/// Why a source stopped before its end: what it had read, and where and why it broke off.
public struct PacketSourceError: Error, Sendable, CustomStringConvertible {
    /// Records read successfully before the failure.
    public let recordsRead: Int
    public let message: String

    public init(recordsRead: Int, message: String) {
        self.recordsRead = recordsRead
        self.message = message
    }

    public var description: String { message }
}

/// Where packets come from: a capture file, a live interface, memory. Each call refills a batch
/// with borrowed packets; the multiplexer keeps several batches in flight, so a source must keep a
/// batch's packets valid until that same batch is refilled (copy into the batch, or point into
/// buffers that live as long as the source).
public protocol PacketSource: AnyObject {
    /// The link type of every packet.
    var linkType: LinkType { get }
    /// Clears `batch` and fills it with the next packets, at least one unless the source has ended
    /// (then false, and the batch is empty). Packets read before a failure are in `batch` when the
    /// error is thrown, and are demultiplexed before it is reported.
    func nextBatch(into batch: SourceBatch) throws(PacketSourceError) -> Bool
}

/// Packets held in memory, handed out in order without copying: the deterministic source for
/// tests and benchmarks (as NIOEmbedded is for swift-nio). Its packets stay valid as long as it
/// lives. `rewind()` starts again from the first.
public final class InMemorySource: PacketSource {
    public let linkType: LinkType
    private let bytes: UnsafeMutableRawBufferPointer
    private let ranges: [(offset: Int, count: Int, wireLength: Int, timestamp: UInt64)]
    private var next = 0

    /// `packets` with their wire lengths (their sizes unless given) and timestamps (nanoseconds;
    /// the packet's index unless given).
    public init(
        _ packets: [[UInt8]], linkType: LinkType = .ethernet, wireLengths: [Int]? = nil,
        timestamps: [UInt64]? = nil
    ) {
        self.linkType = linkType
        let total = packets.reduce(0) { $0 + $1.count }
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(16, total), alignment: 16)
        var ranges: [(Int, Int, Int, UInt64)] = []
        ranges.reserveCapacity(packets.count)
        var offset = 0
        for (index, packet) in packets.enumerated() {
            packet.withUnsafeBytes { source in
                if let base = source.baseAddress, !source.isEmpty {
                    (bytes.baseAddress! + offset).copyMemory(from: base, byteCount: source.count)
                }
            }
            let wire = wireLengths.map { $0[index] } ?? packet.count
            ranges.append((offset, packet.count, wire, timestamps.map { $0[index] } ?? UInt64(index)))
            offset += packet.count
        }
        self.bytes = bytes
        self.ranges = ranges
    }

    deinit { bytes.deallocate() }

    public var packetCount: Int { ranges.count }

    public func rewind() { next = 0 }

    public func nextBatch(into batch: SourceBatch) throws(PacketSourceError) -> Bool {
        batch.removeAll()
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while next < ranges.count, !batch.isFull {
            let range = ranges[next]
            batch.appendBorrowed(
                UnsafeRawBufferPointer(start: base + range.offset, count: range.count),
                wireLength: range.wireLength, timestamp: range.timestamp)
            next += 1
        }
        return batch.count > 0
    }
}
