import DPFMemory

/// A receive ring set up in an app's memory: where it is (the app, its first virtual page), its
/// layout, and the frames behind its pages (in page order).
public struct ReceiveRing: Hashable, Sendable {
    public let app: AppID
    public let firstPage: UInt32
    public let layout: RingLayout
    public let frames: [UInt32]

    /// Allocates `pages` frames for `app` (the header page and the slot pages), binds them readable
    /// and writable at consecutive virtual pages from `firstPage` with the app's own capabilities,
    /// and writes the header. On any failure the frames allocated so far are freed.
    public static func create(
        in core: MemoryCore, for app: AppID, firstPage: UInt32, pages: Int,
        slotSize: Int = RingLayout.defaultSlotSize
    ) throws(RingError) -> ReceiveRing {
        let layout = try RingLayout(pages: pages, slotSize: slotSize)
        guard Int(firstPage) + layout.pages <= core.configuration.pagesPerApp else {
            throw .pagesOutOfRange(first: firstPage, count: layout.pages)
        }
        var frames: [UInt32] = []
        do {
            for index in 0..<layout.pages {
                let grant = try core.allocate(for: .app(app))
                frames.append(grant.frame)
                try core.bind(
                    app, page: firstPage + UInt32(index), to: grant.frame, rights: [.read, .write],
                    using: grant.capability)
            }
            // The app writes its own header, through its own view of the frame (fresh: all zeros).
            layout.writeHeader(at: try core.arena.address(ofFrame: frames[0]))
        } catch {
            for frame in frames { try? core.free(frame, by: .app(app)) }
            throw .memory(error)
        }
        return ReceiveRing(app: app, firstPage: firstPage, layout: layout, frames: frames)
    }

    /// The virtual pages the ring spans.
    public var pageRange: Range<UInt32> { firstPage..<firstPage + UInt32(layout.pages) }
}
