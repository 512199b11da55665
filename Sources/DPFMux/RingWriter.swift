import DPFMemory

/// What became of one packet offered to a ring.
public enum DeliveryOutcome: Hashable, Sendable {
    /// Written into a released slot and handed to the app.
    case delivered
    /// The next slot is still the app's: the ring is full.
    case dropped
    /// The ring's memory is gone: a ring page is unbound, or its frame was freed or repossessed
    /// (or changed generation during the delivery). Nothing was written.
    case cancelled
}

/// A ring's counters, as the multiplexer keeps them (never in the app's memory). Every packet
/// offered is delivered, dropped or cancelled: `offered == delivered + dropped + cancelled`.
public struct RingCounters: Hashable, Sendable {
    public var offered: UInt64 = 0
    public var delivered: UInt64 = 0
    /// Offered to a full ring.
    public var dropped: UInt64 = 0
    /// Offered while the ring's memory was gone.
    public var cancelled: UInt64 = 0
    /// Delivered with fewer bytes than on the wire (longer than a slot's capacity).
    public var truncated: UInt64 = 0

    public init() {}
}

/// The multiplexer's side of a receive ring: fills released slots through the app's software TLB.
///
/// The writer trusts nothing the app can write. It keeps its own producer cursor and the layout it
/// was made with, and never reads the header; the only app-written word it reads is the owner word
/// of the slot at its cursor, and only to decide whether that slot is released (anything but
/// `released` counts as still the app's). Every access goes through `MemoryAccess`, checked
/// against the frame's generation, so a ring page unbound, freed or repossessed is never written:
/// the delivery is cancelled and counted. An app that scribbles over its header, flips owner words
/// or stops consuming loses its own packets, nothing else.
///
/// One writer per ring, used by one worker at a time. Delivering allocates nothing.
public struct RingWriter: Sendable {
    public let app: AppID
    public let firstPage: UInt32
    public let layout: RingLayout
    public private(set) var counters = RingCounters()
    /// Packets delivered so far: the producer position.
    public private(set) var position: UInt64 = 0
    /// The position last stored in the header.
    public private(set) var publishedPosition: UInt64 = 0

    /// The slot at the cursor.
    private var slot = 0

    public init(app: AppID, firstPage: UInt32, layout: RingLayout) {
        self.app = app
        self.firstPage = firstPage
        self.layout = layout
    }

    public init(_ ring: ReceiveRing) {
        self.init(app: ring.app, firstPage: ring.firstPage, layout: ring.layout)
    }

    /// Delivers `packet` into the next slot, if the app has released it: the slot's lengths,
    /// timestamp, tag and bytes (truncated to the slot's capacity), then its owner word set to
    /// `filled` with release ordering, then (when `publishing`) the header's producer position.
    /// `wireLength` is the packet's length on the wire (at least `packet.count`; defaults to it).
    /// A writer delivering a batch passes `publishing: false` and calls `publish(through:)` once
    /// after it: the app reads owner words, so the position is only a hint.
    public mutating func deliver(
        _ packet: UnsafeRawBufferPointer, wireLength: Int? = nil, timestamp: UInt64, tag: UInt64,
        publishing: Bool = true, through access: MemoryAccess
    ) -> DeliveryOutcome {
        counters.offered &+= 1
        let slotPage = firstPage &+ 1 &+ UInt32(truncatingIfNeeded: layout.slotPage(ofSlot: slot))
        let offset = layout.offsetInPage(ofSlot: slot)
        guard let frame = access.translate(app, page: slotPage, for: [.read, .write]),
            let owner = access.loadAcquire(from: frame, offset: offset + RingLayout.ownerOffset)
        else {
            counters.cancelled &+= 1
            return .cancelled
        }
        guard owner == RingLayout.released else {
            counters.dropped &+= 1
            return .dropped
        }
        let captured = min(packet.count, layout.capacity)
        let wire = UInt32(clamping: max(wireLength ?? packet.count, packet.count))
        // captured length, wire length, timestamp, tag: slot bytes 8..<32, in one checked write.
        // (A homogeneous tuple has the layout of a C array.)
        var metadata: (UInt64, UInt64, UInt64) = (0, timestamp, tag)
        let written = withUnsafeMutableBytes(of: &metadata) { words in
            words.storeBytes(of: UInt32(captured), toByteOffset: 0, as: UInt32.self)
            words.storeBytes(of: wire, toByteOffset: 4, as: UInt32.self)
            return access.write(
                UnsafeRawBufferPointer(words), into: frame, offset: offset + RingLayout.capturedLengthOffset)
        }
        guard written,
            access.write(
                UnsafeRawBufferPointer(rebasing: packet[0..<captured]), into: frame,
                offset: offset + RingLayout.slotHeaderSize),
            access.storeRelease(RingLayout.filled, into: frame, offset: offset + RingLayout.ownerOffset)
        else {
            // The frame changed generation mid-delivery: the slot stays released, the app sees nothing.
            counters.cancelled &+= 1
            return .cancelled
        }
        position &+= 1
        slot = layout.slot(after: slot)
        counters.delivered &+= 1
        if UInt32(captured) < wire { counters.truncated &+= 1 }
        if publishing { publish(through: access) }
        return .delivered
    }

    /// Stores the producer position in the header (with release ordering). Informational for the
    /// app: if the header's page is gone, the slots are still delivered and nothing is written.
    public mutating func publish(through access: MemoryAccess) {
        publishedPosition = position
        if let header = access.translate(app, page: firstPage, for: .write) {
            access.storeRelease(position, into: header, offset: RingLayout.producerOffset)
        }
    }

    /// Publishes the producer position if it has moved a quarter of the ring since it was last
    /// published: the header is another page (for many small rings, another TLB and cache miss
    /// per delivery), and the app needs only the owner words. The multiplexer publishes every
    /// ring's position when a run ends.
    public mutating func publishIfDue(through access: MemoryAccess) {
        if position &- publishedPosition >= UInt64(max(1, layout.slotCount / 4)) { publish(through: access) }
    }
}
