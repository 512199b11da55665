import DPFMemory
import Synchronization

/// A packet in a filled slot, borrowed from the ring: `bytes` points into the app's frame and is
/// valid until the slot is released.
public struct ReceivedPacket {
    /// The captured bytes, in the slot (no copy).
    public let bytes: UnsafeRawBufferPointer
    /// The packet's length on the wire; more than `bytes.count` when the slot truncated it.
    public let wireLength: Int
    public let timestamp: UInt64
    public let tag: UInt64
    /// The consumer position of this packet: packets released before it.
    public let position: UInt64

    public var capturedLength: Int { bytes.count }
    public var isTruncated: Bool { bytes.count < wireLength }
}

/// The app's side of a receive ring, in-process: reads filled slots in place and hands them back.
///
/// Made from the app's read-only page table: the ring's pages are resolved to their frames'
/// addresses in the arena's mapping, as a process that mapped its own frames would reach them. The
/// layout is read from the ring's header and checked (typed errors, no traps): an app that broke
/// its own header cannot attach a consumer, which hurts no one else.
///
/// A new consumer resumes at the consumer position in the header (the app's own word: 0 for a new
/// ring, garbage only if the app wrote garbage).
///
/// A consumer must not outlive its pages' bindings: the addresses it resolved stay mapped, but once
/// a ring frame is unbound and freed or repossessed its bytes are zeroed and may belong to another
/// app. (A later stage maps the frames into the app's own process, where the kernel tears the
/// mapping down.) One consumer per ring, used by one thread at a time; `next()` and `release()`
/// allocate nothing.
public struct RingConsumer {
    public let app: AppID
    public let firstPage: UInt32
    public let layout: RingLayout
    /// Packets released so far: the consumer position.
    public private(set) var position: UInt64 = 0

    private let header: UnsafeMutableRawPointer
    /// The address of each slot page, in ring order.
    private let slotPages: [UnsafeMutableRawPointer]
    private var slot = 0

    public init(core: MemoryCore, app: AppID, firstPage: UInt32) throws(RingError) {
        // The header page's mapping first; once the header gives the ring's size, its pages'.
        var table = core.pageTable(
            of: app, pages: firstPage..<(firstPage == .max ? firstPage : firstPage + 1))
        let arena = core.arena
        func address(of page: UInt32) throws(RingError) -> UnsafeMutableRawPointer {
            guard let mapping = table.mapping(of: page), mapping.rights.isSuperset(of: [.read, .write]) else {
                throw .pageNotBound(page)
            }
            do { return try arena.address(ofFrame: mapping.frame) } catch { throw .memory(error) }
        }
        let header = try address(of: firstPage)
        let magic = header.load(fromByteOffset: RingLayout.magicOffset, as: UInt32.self)
        guard magic == RingLayout.magic else { throw .badMagic(magic) }
        let version = header.load(fromByteOffset: RingLayout.versionOffset, as: UInt32.self)
        guard version == RingLayout.version else { throw .unsupportedVersion(version) }
        let slotCount = Int(header.load(fromByteOffset: RingLayout.slotCountOffset, as: UInt32.self))
        let slotSize = Int(header.load(fromByteOffset: RingLayout.slotSizeOffset, as: UInt32.self))
        let firstSlot = Int(header.load(fromByteOffset: RingLayout.firstSlotOffsetOffset, as: UInt32.self))
        let layout: RingLayout
        do { layout = try RingLayout(slotCount: slotCount, slotSize: slotSize) } catch {
            throw .badHeader("\(error)")
        }
        guard firstSlot == RingLayout.firstSlotOffset else { throw .badHeader("slot 0 at \(firstSlot)") }
        guard Int(firstPage) + layout.pages <= core.configuration.pagesPerApp else {
            throw .pagesOutOfRange(first: firstPage, count: layout.pages)
        }
        table = core.pageTable(of: app, pages: firstPage..<firstPage + UInt32(layout.pages))
        var slotPages: [UnsafeMutableRawPointer] = []
        slotPages.reserveCapacity(layout.pages - 1)
        for index in 1..<layout.pages { slotPages.append(try address(of: firstPage + UInt32(index))) }
        self.app = app
        self.firstPage = firstPage
        self.layout = layout
        self.header = header
        self.slotPages = slotPages
        // Resume where the app's last consumer left off (0 for a new ring).
        position = RingWords.loadAcquire(header + RingLayout.consumerOffset)
        slot = Int(position % UInt64(layout.slotCount))
    }

    public init(core: MemoryCore, ring: ReceiveRing) throws(RingError) {
        try self.init(core: core, app: ring.app, firstPage: ring.firstPage)
    }

    private var slotAddress: UnsafeMutableRawPointer {
        slotPages[layout.slotPage(ofSlot: slot)] + layout.offsetInPage(ofSlot: slot)
    }

    /// The next filled slot's packet, or nil when the multiplexer has not filled it yet. Does not
    /// advance: call `release()` when done with the bytes.
    public func next() -> ReceivedPacket? {
        let address = slotAddress
        guard RingWords.loadAcquire(address + RingLayout.ownerOffset) == RingLayout.filled else { return nil }
        // The app's own memory: clamp what it says, so a scribbled slot cannot send a read astray.
        let captured = min(
            Int(address.load(fromByteOffset: RingLayout.capturedLengthOffset, as: UInt32.self)),
            layout.capacity)
        let wire = Int(address.load(fromByteOffset: RingLayout.wireLengthOffset, as: UInt32.self))
        return ReceivedPacket(
            bytes: UnsafeRawBufferPointer(start: address + RingLayout.slotHeaderSize, count: captured),
            wireLength: max(wire, captured),
            timestamp: address.load(fromByteOffset: RingLayout.timestampOffset, as: UInt64.self),
            tag: address.load(fromByteOffset: RingLayout.tagOffset, as: UInt64.self),
            position: position)
    }

    /// Hands the slot at the cursor back to the multiplexer (owner word `released`, with release
    /// ordering: the bytes are not read after), advances the cursor and publishes the consumer
    /// position in the header. False, and nothing done, when that slot is not filled.
    @discardableResult
    public mutating func release() -> Bool {
        let address = slotAddress
        guard RingWords.loadAcquire(address + RingLayout.ownerOffset) == RingLayout.filled else {
            return false
        }
        RingWords.storeRelease(RingLayout.released, address + RingLayout.ownerOffset)
        position &+= 1
        slot = layout.slot(after: slot)
        RingWords.storeRelease(position, header + RingLayout.consumerOffset)
        return true
    }

    /// The producer position the multiplexer last published (informational).
    public var producerPosition: UInt64 { RingWords.loadAcquire(header + RingLayout.producerOffset) }
}

/// Atomic access to 8-byte-aligned words of ring memory (untyped bytes shared with the multiplexer).
enum RingWords {
    @inline(__always)
    static func loadAcquire(_ address: UnsafeMutableRawPointer) -> UInt64 {
        address.assumingMemoryBound(to: Atomic<UInt64>.self)[0].load(ordering: .acquiring)
    }

    @inline(__always)
    static func storeRelease(_ word: UInt64, _ address: UnsafeMutableRawPointer) {
        address.assumingMemoryBound(to: Atomic<UInt64>.self)[0].store(word, ordering: .releasing)
    }
}
