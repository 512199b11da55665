import DPFMemory

/// What became of one packet offered to a ring.
public enum DeliveryOutcome: Hashable, Sendable {
    /// Written into a released slot and handed to the app.
    case delivered
    /// The next slot is still the app's: the ring is full.
    case dropped
    /// The ring's memory is gone: a ring page is unbound, or its frame was freed or repossessed.
    /// Nothing was written.
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
/// `released` counts as still the app's). Each delivery translates its slot's page through
/// `MemoryAccess` (the writer's one-entry cache or the app's TLB, both checked against the frame's
/// generation) once, then writes the slot directly: a ring page unbound, freed or repossessed
/// before the delivery is never written (it is cancelled and counted), and a frame cannot change
/// owner while a delivery that passed the check is still writing it. An app that scribbles over its header, flips owner words
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
    /// The translation of the slot page last written (`cachedPage`): a one-entry TLB, revalidated
    /// by the frame's generation on every use. Many small rings make the apps' TLBs a cache miss
    /// per delivery; this is in the writer, which the delivery reads anyway.
    private var cachedPage = UInt32.max
    private var cachedTranslation: Translation?

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
        // One translation, one generation check: the slot's stores go straight to the frame,
        // which cannot change owner before the worker's critical section ends.
        guard let frame = translation(of: slotPage, through: access),
            let frameBytes = access.frameBytes(of: frame)
        else {
            counters.cancelled &+= 1
            return .cancelled
        }
        let slotBytes = UnsafeMutableRawBufferPointer(
            rebasing: frameBytes[offset..<(offset + layout.slotSize)])
        guard MemoryAccess.loadAcquire(slotBytes, offset: RingLayout.ownerOffset) == RingLayout.released
        else {
            counters.dropped &+= 1
            return .dropped
        }
        let captured = min(packet.count, layout.capacity)
        let wire = UInt32(clamping: max(wireLength ?? packet.count, packet.count))
        slotBytes.storeBytes(
            of: UInt32(captured), toByteOffset: RingLayout.capturedLengthOffset, as: UInt32.self)
        slotBytes.storeBytes(of: wire, toByteOffset: RingLayout.wireLengthOffset, as: UInt32.self)
        slotBytes.storeBytes(of: timestamp, toByteOffset: RingLayout.timestampOffset, as: UInt64.self)
        slotBytes.storeBytes(of: tag, toByteOffset: RingLayout.tagOffset, as: UInt64.self)
        if captured > 0 {
            UnsafeMutableRawBufferPointer(rebasing: slotBytes[RingLayout.slotHeaderSize...]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: packet[0..<captured]))
        }
        MemoryAccess.storeRelease(RingLayout.filled, into: slotBytes, offset: RingLayout.ownerOffset)
        position &+= 1
        slot = layout.slot(after: slot)
        counters.delivered &+= 1
        if UInt32(captured) < wire { counters.truncated &+= 1 }
        if publishing { publish(through: access) }
        return .delivered
    }

    /// The slot page's translation, from the writer's cache while it holds, else from the app's TLB.
    @inline(__always)
    private mutating func translation(of page: UInt32, through access: MemoryAccess) -> Translation? {
        if page == cachedPage, let cached = cachedTranslation, access.isCurrent(cached, of: app) {
            return cached
        }
        let fresh = access.translate(app, page: page, for: [.read, .write])
        cachedPage = fresh == nil ? .max : page
        cachedTranslation = fresh
        return fresh
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
