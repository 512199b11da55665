import DPFMemory

/// The fixed, position-independent layout of a receive ring over a run of an app's consecutive
/// virtual pages. Every location is an offset from the ring's first byte, never a pointer, so the
/// same ring can be mapped at any address (a later stage maps it into the app's own process).
/// Words are in the machine's native byte order: the ring is shared by the multiplexer and apps on
/// one machine, never sent anywhere.
///
/// Page 0 is the header:
///
/// | offset | size | word | written by |
/// |-------:|-----:|------|------------|
/// | 0 | 4 | magic `0x52465044` ("DPFR" in little-endian bytes) | ring setup |
/// | 4 | 4 | version (1) | ring setup |
/// | 8 | 4 | slot count | ring setup |
/// | 12 | 4 | slot size in bytes | ring setup |
/// | 16 | 4 | offset of slot 0 (4,096) | ring setup |
/// | 64 | 8 | producer position: packets delivered so far | the multiplexer (for the app) |
/// | 128 | 8 | consumer position: packets released so far | the app (for the multiplexer) |
///
/// Both positions are informational: the multiplexer keeps its own cursor and never reads the
/// header; the app learns the layout from the header words. The positions sit on their own cache
/// lines so the producer and the consumer do not share one.
///
/// Slot `i` starts at `4,096 + i × slotSize`:
///
/// | offset | size | word |
/// |-------:|-----:|------|
/// | 0 | 8 | owner: 0 released (empty, the multiplexer may fill it), 1 filled (the app's) |
/// | 8 | 4 | captured length: bytes stored in the slot |
/// | 12 | 4 | wire length: the packet's length on the wire (more than captured: truncated) |
/// | 16 | 8 | timestamp, nanoseconds |
/// | 24 | 8 | tag: the filter id or an app-defined value |
/// | 32 | slotSize − 32 | packet bytes |
///
/// Slot sizes are powers of two from 128 to 4,096 bytes, so a slot never spans two pages (two
/// frames that need not be adjacent). The default, 2,048, puts two slots in a page and gives each
/// 2,016 bytes of packet: a whole Ethernet frame (1,514 bytes, 1,518 with a VLAN tag) fits, as in
/// AF_XDP's default 2 KiB UMEM chunks, and half a page is wasted at most per packet.
public struct RingLayout: Hashable, Sendable {
    public static let pageSize = FrameArena.frameSize
    public static let magic: UInt32 = 0x5246_5044
    public static let version: UInt32 = 1
    public static let defaultSlotSize = 2_048
    public static let minimumSlotSize = 128
    /// The most slots a ring may have (2^20; with the multiplexer's own cursor this never wraps).
    public static let maximumSlots = 1 << 20

    // Header words.
    public static let magicOffset = 0
    public static let versionOffset = 4
    public static let slotCountOffset = 8
    public static let slotSizeOffset = 12
    public static let firstSlotOffsetOffset = 16
    public static let producerOffset = 64
    public static let consumerOffset = 128
    /// Slot 0 starts on the page after the header.
    public static let firstSlotOffset = pageSize

    // Slot words, from the slot's start.
    public static let ownerOffset = 0
    public static let capturedLengthOffset = 8
    public static let wireLengthOffset = 12
    public static let timestampOffset = 16
    public static let tagOffset = 24
    public static let slotHeaderSize = 32

    /// Owner-word values.
    public static let released: UInt64 = 0
    public static let filled: UInt64 = 1

    public let slotCount: Int
    public let slotSize: Int
    // Slot sizes and slots per page are powers of two: slots are located by shifts, not division.
    private let slotSizeShift: Int
    private let slotsPerPageShift: Int

    /// A layout of `slotCount` slots of `slotSize` bytes (a power of two in 128...4,096).
    public init(slotCount: Int, slotSize: Int = RingLayout.defaultSlotSize) throws(RingError) {
        try RingLayout.validate(slotSize: slotSize)
        guard slotCount >= 1, slotCount <= RingLayout.maximumSlots else { throw .invalidSlotCount(slotCount) }
        self.slotCount = slotCount
        self.slotSize = slotSize
        slotSizeShift = slotSize.trailingZeroBitCount
        slotsPerPageShift = (RingLayout.pageSize / slotSize).trailingZeroBitCount
    }

    private static func validate(slotSize: Int) throws(RingError) {
        guard slotSize >= RingLayout.minimumSlotSize, slotSize <= RingLayout.pageSize,
            slotSize & (slotSize - 1) == 0
        else { throw .invalidSlotSize(slotSize) }
    }

    /// The largest layout that fits `pages` pages (the header page and `pages − 1` pages of slots).
    public init(pages: Int, slotSize: Int = RingLayout.defaultSlotSize) throws(RingError) {
        guard pages >= 2, pages <= 1 + RingLayout.maximumSlots else { throw .invalidPageCount(pages) }
        try RingLayout.validate(slotSize: slotSize)
        try self.init(
            slotCount: min((pages - 1) * (RingLayout.pageSize / slotSize), RingLayout.maximumSlots),
            slotSize: slotSize)
    }

    public var slotsPerPage: Int { 1 << slotsPerPageShift }
    /// Packet bytes a slot holds.
    public var capacity: Int { slotSize - RingLayout.slotHeaderSize }
    /// Pages the ring spans: the header page and the slot pages.
    public var pages: Int { 1 + (slotCount + slotsPerPage - 1) / slotsPerPage }
    public var byteCount: Int { pages * RingLayout.pageSize }

    /// Writes this layout's header words at `header` (the ring's first byte, in the app's own view
    /// of its memory): what the app does when it sets up a ring, or rebuilds a lost header page.
    public func writeHeader(at header: UnsafeMutableRawPointer) {
        header.storeBytes(of: RingLayout.magic, toByteOffset: RingLayout.magicOffset, as: UInt32.self)
        header.storeBytes(of: RingLayout.version, toByteOffset: RingLayout.versionOffset, as: UInt32.self)
        header.storeBytes(of: UInt32(slotCount), toByteOffset: RingLayout.slotCountOffset, as: UInt32.self)
        header.storeBytes(of: UInt32(slotSize), toByteOffset: RingLayout.slotSizeOffset, as: UInt32.self)
        header.storeBytes(
            of: UInt32(RingLayout.firstSlotOffset), toByteOffset: RingLayout.firstSlotOffsetOffset,
            as: UInt32.self)
    }

    /// The byte offset of slot `index` from the ring's start.
    public func offset(ofSlot index: Int) -> Int { RingLayout.firstSlotOffset + index * slotSize }

    /// Which slot page (0 is the page after the header) holds slot `index`.
    @inline(__always)
    public func slotPage(ofSlot index: Int) -> Int { index >> slotsPerPageShift }

    /// Where slot `index` starts within its page.
    @inline(__always)
    public func offsetInPage(ofSlot index: Int) -> Int { (index & (slotsPerPage - 1)) << slotSizeShift }

    /// The slot after `index`, wrapping at the end of the ring.
    @inline(__always)
    public func slot(after index: Int) -> Int { index + 1 == slotCount ? 0 : index + 1 }
}

/// Every refusal of ring setup and of a consumer reading a ring's header. A hostile or broken
/// ring is one of these, never a trap.
public enum RingError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidSlotSize(Int)
    case invalidSlotCount(Int)
    case invalidPageCount(Int)
    /// The ring's pages run past the app's virtual space.
    case pagesOutOfRange(first: UInt32, count: Int)
    /// A page of the ring is not bound readable and writable.
    case pageNotBound(UInt32)
    /// The header does not carry the ring's magic (the page holds no ring, or the app overwrote it).
    case badMagic(UInt32)
    case unsupportedVersion(UInt32)
    /// The header's geometry is not a valid layout, or needs more pages than are bound.
    case badHeader(String)
    case memory(MemoryError)

    public var description: String {
        switch self {
        case .invalidSlotSize(let size):
            "slot size must be a power of two in \(RingLayout.minimumSlotSize)...\(RingLayout.pageSize), not \(size)"
        case .invalidSlotCount(let count):
            "slot count must be in 1...\(RingLayout.maximumSlots), not \(count)"
        case .invalidPageCount(let pages):
            "a ring needs 2...\(1 + RingLayout.maximumSlots) pages, not \(pages)"
        case .pagesOutOfRange(let first, let count):
            "pages \(first)..<\(Int(first) + count) are past the app's space"
        case .pageNotBound(let page): "ring page \(page) is not bound readable and writable"
        case .badMagic(let magic): "no ring here: magic \(magic), expected \(RingLayout.magic)"
        case .unsupportedVersion(let version): "ring version \(version) is not supported"
        case .badHeader(let message): "bad ring header: \(message)"
        case .memory(let error): "memory core: \(error)"
        }
    }
}
