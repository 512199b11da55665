import Synchronization

/// One binding's address: an app's virtual page.
public struct PageKey: Hashable, Comparable, Sendable {
    public let app: AppID
    public let page: UInt32

    public init(app: AppID, page: UInt32) {
        self.app = app
        self.page = page
    }

    public static func < (a: PageKey, b: PageKey) -> Bool { (a.app, a.page) < (b.app, b.page) }
}

/// One entry of an app's page table as the app may see it.
public struct Mapping: Hashable, Sendable {
    public let page: UInt32
    public let frame: UInt32
    public let rights: Rights

    public init(page: UInt32, frame: UInt32, rights: Rights) {
        self.page = page
        self.frame = frame
        self.rights = rights
    }
}

/// A read-only copy of an app's page table: the app reads its translations, only the core writes.
public struct PageTableView: Hashable, Sendable {
    public let app: AppID
    /// Bound pages, ascending.
    public let mappings: [Mapping]

    /// The mapping of `page`, if bound: a binary search of the ascending mappings.
    public func mapping(of page: UInt32) -> Mapping? {
        var low = 0
        var high = mappings.count
        while low < high {
            let middle = (low + high) / 2
            if mappings[middle].page < page { low = middle + 1 } else { high = middle }
        }
        return low < mappings.count && mappings[low].page == page ? mappings[low] : nil
    }
}

/// Every app's page table: `pagesPerApp` entries per app slot, each one atomic word, so packet
/// workers refill their TLBs without taking the control plane's lock. Written only by the control
/// plane, under its lock.
///
/// An entry packs `valid (bit 63) | rights (bits 32–39) | frame (bits 0–31)`; 0 is unbound.
final class PageTables: @unchecked Sendable {
    // @unchecked: entries are atomics; the pointer is fixed for the object's life.
    let apps: Int
    let pagesPerApp: Int
    let entries: UnsafeMutablePointer<Atomic<UInt64>>

    init(apps: Int, pagesPerApp: Int) {
        self.apps = apps
        self.pagesPerApp = pagesPerApp
        entries = .allocate(capacity: apps * pagesPerApp)
        for index in 0..<(apps * pagesPerApp) { (entries + index).initialize(to: Atomic(0)) }
    }

    deinit {
        entries.deinitialize(count: apps * pagesPerApp)
        entries.deallocate()
    }

    static let valid: UInt64 = 1 << 63

    @inline(__always)
    static func pack(frame: UInt32, rights: Rights) -> UInt64 {
        valid | UInt64(rights.rawValue) << 32 | UInt64(frame)
    }

    @inline(__always)
    static func frame(_ entry: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: entry) }

    @inline(__always)
    static func rights(_ entry: UInt64) -> Rights { Rights(rawValue: UInt8(truncatingIfNeeded: entry >> 32)) }

    @inline(__always)
    func load(app: UInt32, page: UInt32) -> UInt64 { entryView.load(app: app, page: page) }

    /// The entries as a plain pointer: what workers use, with no reference counting.
    var entryView: PageEntries { PageEntries(entries: entries, pagesPerApp: pagesPerApp) }

    func store(_ entry: UInt64, app: UInt32, page: UInt32) {
        entries[Int(app) * pagesPerApp + Int(page)].store(entry, ordering: .sequentiallyConsistent)
    }

    func view(of app: AppID, pages: Range<UInt32>? = nil) -> PageTableView {
        var mappings: [Mapping] = []
        let all = 0..<UInt32(pagesPerApp)
        for page in pages?.clamped(to: all) ?? all {
            let entry = load(app: app.index, page: page)
            if entry & PageTables.valid != 0 {
                mappings.append(
                    Mapping(page: page, frame: PageTables.frame(entry), rights: PageTables.rights(entry)))
            }
        }
        return PageTableView(app: app, mappings: mappings)
    }
}

/// Every app's page-table entries as a plain pointer (see `PageTables`).
@usableFromInline
struct PageEntries {
    @usableFromInline let entries: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let pagesPerApp: Int

    @usableFromInline
    init(entries: UnsafeMutablePointer<Atomic<UInt64>>, pagesPerApp: Int) {
        self.entries = entries
        self.pagesPerApp = pagesPerApp
    }

    @inlinable @inline(__always)
    func load(app: UInt32, page: UInt32) -> UInt64 {
        entries[Int(app) * pagesPerApp + Int(page)].load(ordering: .sequentiallyConsistent)
    }

    @inlinable @inline(__always)
    static func frame(_ entry: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: entry) }

    @inlinable @inline(__always)
    static func rights(_ entry: UInt64) -> Rights { Rights(rawValue: UInt8(truncatingIfNeeded: entry >> 32)) }
}
