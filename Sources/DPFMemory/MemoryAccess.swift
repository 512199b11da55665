import Synchronization

/// A worker's access to app memory inside a critical section (`MemoryCore.withCriticalSection`):
/// every translation goes through the app's software TLB, every write checks the frame's
/// generation. Lock-free and allocation-free; do not let it escape the section.
public struct MemoryAccess {
    // Plain pointers, not the owning objects: no reference counting on the hot path. The core
    // outlives every critical section, so they stay valid.
    @usableFromInline let arena: FrameWords
    @usableFromInline let pageTables: PageEntries
    @usableFromInline let tlbs: TLBView
    @usableFromInline let apps: Int
    public let worker: Worker

    /// The frame behind `page` of `app` if it is bound with at least `access`, else nil.
    @inlinable @inline(__always)
    public func translate(_ app: AppID, page: UInt32, for access: Rights) -> Translation? {
        guard Int(app.index) < apps, Int(page) < pageTables.pagesPerApp else { return nil }
        if let (packed, generation) = tlbs.lookup(app: app.index, page: page) {
            let frame = PageEntries.frame(packed)
            if arena.generation(of: frame) == generation {
                tlbs.count(app: app.index, worker: worker.index, miss: false)
                let rights = PageEntries.rights(packed)
                return rights.isSuperset(of: access)
                    ? Translation(frame: frame, rights: rights, generation: generation) : nil
            }
        }
        return refill(app, page: page, for: access)
    }

    /// A miss: read the page-table entry, the frame's generation, and the entry again; fill the
    /// TLB only if the entry did not change in between (else the generation may be newer than
    /// the binding it is paired with).
    @usableFromInline @inline(never)
    func refill(_ app: AppID, page: UInt32, for access: Rights) -> Translation? {
        tlbs.count(app: app.index, worker: worker.index, miss: true)
        let entry = pageTables.load(app: app.index, page: page)
        guard entry & PageTables.valid != 0 else { return nil }
        let frame = PageEntries.frame(entry)
        let generation = arena.generation(of: frame)
        guard pageTables.load(app: app.index, page: page) == entry else { return nil }
        tlbs.write(
            app: app.index, slotOf: page, tag: UInt64(page) &+ 1, packed: entry, generation: generation,
            force: false)
        let rights = PageEntries.rights(entry)
        return rights.isSuperset(of: access)
            ? Translation(frame: frame, rights: rights, generation: generation) : nil
    }

    /// Writes `bytes` at `offset` into `page` of `app`; false when the page is not bound writable
    /// or the bytes run past the frame.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer, to app: AppID, page: UInt32, offset: Int) -> Bool {
        guard offset >= 0, bytes.count <= FrameArena.frameSize - offset,
            let translation = translate(app, page: page, for: .write)
        else { return false }
        if let source = bytes.baseAddress {
            (arena.address(of: translation.frame) + offset).copyMemory(from: source, byteCount: bytes.count)
        }
        return true
    }

    /// Writes `bytes` at `offset` into the frame of a translation made earlier in this critical
    /// section, if the frame's generation is still the translation's (the write path's check: a
    /// frame unbound, freed or repossessed since is not written). A write that passed the check
    /// finishes before the frame can change hands: the control plane waits for this section to end.
    @discardableResult
    @inlinable @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer, into translation: Translation, offset: Int) -> Bool {
        guard offset >= 0, bytes.count <= FrameArena.frameSize - offset, translation.rights.contains(.write),
            Int(translation.frame) < arena.frameCount,
            arena.generation(of: translation.frame) == translation.generation
        else { return false }
        if let source = bytes.baseAddress {
            (arena.address(of: translation.frame) + offset).copyMemory(from: source, byteCount: bytes.count)
        }
        return true
    }

    /// True when a translation of `app`'s made earlier (in this section or an earlier one) still
    /// holds: its frame's generation is unchanged, so the page is still bound to the frame with the
    /// same rights (unbinding, freeing and repossessing all move the generation on). Counted as a
    /// TLB hit. What a worker's one-entry cache of its hottest translation uses instead of a
    /// lookup in the app's TLB, with the same check a TLB hit makes.
    @inlinable @inline(__always)
    public func isCurrent(_ translation: Translation, of app: AppID) -> Bool {
        guard Int(app.index) < apps, Int(translation.frame) < arena.frameCount,
            arena.generation(of: translation.frame) == translation.generation
        else { return false }
        tlbs.count(app: app.index, worker: worker.index, miss: false)
        return true
    }

    /// The bytes of a translation's frame, for a worker that checked the frame once (in
    /// `translate`) and now reads and writes it without further checks: a run of stores into one
    /// slot costs one generation check, not one per store. Valid until the critical section ends
    /// and only within the translation's rights: the frame cannot change owner before then (freeing
    /// or repossessing it waits for every section that began earlier, and zeroes it after), so a
    /// write lands in memory the app owned when the translation was made, or in a frame zeroed
    /// before anyone else sees it. (A page unbound meanwhile stays its owner's frame: the delivery
    /// in flight counts as made before the unbind, as a checked write that passed its check does.)
    @inlinable @inline(__always)
    public func frameBytes(of translation: Translation) -> UnsafeMutableRawBufferPointer? {
        guard Int(translation.frame) < arena.frameCount else { return nil }
        return UnsafeMutableRawBufferPointer(
            start: arena.address(of: translation.frame), count: FrameArena.frameSize)
    }

    /// Loads the 8-byte-aligned word at `offset` of `bytes` (from `frameBytes(of:)`) with acquire
    /// ordering.
    @inlinable @inline(__always)
    public static func loadAcquire(_ bytes: UnsafeMutableRawBufferPointer, offset: Int) -> UInt64 {
        precondition(offset >= 0 && offset <= bytes.count - 8 && offset & 7 == 0)
        return atomicWord(bytes.baseAddress! + offset)[0].load(ordering: .acquiring)
    }

    /// Stores `word` at the 8-byte-aligned `offset` of `bytes` (from `frameBytes(of:)`) with
    /// release ordering.
    @inlinable @inline(__always)
    public static func storeRelease(_ word: UInt64, into bytes: UnsafeMutableRawBufferPointer, offset: Int) {
        precondition(offset >= 0 && offset <= bytes.count - 8 && offset & 7 == 0)
        atomicWord(bytes.baseAddress! + offset)[0].store(word, ordering: .releasing)
    }

    /// Writes `bytes` only if `page` still translates to the frame at `generation` (a queued write).
    func write(_ bytes: [UInt8], to app: AppID, page: UInt32, offset: Int, generation: UInt64) -> Bool {
        guard offset >= 0, bytes.count <= FrameArena.frameSize - offset,
            let translation = translate(app, page: page, for: .write), translation.generation == generation
        else { return false }
        bytes.withUnsafeBytes {
            if let source = $0.baseAddress {
                (arena.address(of: translation.frame) + offset).copyMemory(from: source, byteCount: $0.count)
            }
        }
        return true
    }

    /// Stores a 64-bit word (native byte order) at an 8-byte-aligned `offset`.
    @discardableResult
    @inlinable @inline(__always)
    public func store(_ word: UInt64, to app: AppID, page: UInt32, offset: Int) -> Bool {
        guard offset >= 0, offset <= FrameArena.frameSize - 8, offset & 7 == 0,
            let translation = translate(app, page: page, for: .write)
        else { return false }
        (arena.address(of: translation.frame) + offset).storeBytes(of: word, as: UInt64.self)
        return true
    }

    /// Loads a 64-bit word from an 8-byte-aligned `offset`, if the page is bound readable.
    @inlinable @inline(__always)
    public func load(from app: AppID, page: UInt32, offset: Int) -> UInt64? {
        guard offset >= 0, offset <= FrameArena.frameSize - 8, offset & 7 == 0,
            let translation = translate(app, page: page, for: .read)
        else { return nil }
        return (arena.address(of: translation.frame) + offset).load(as: UInt64.self)
    }

    /// Loads a 64-bit word with acquire ordering (a ring's owner word: what the app wrote before
    /// releasing the word is visible after), if the page is bound readable.
    @inlinable @inline(__always)
    public func loadAcquire(from app: AppID, page: UInt32, offset: Int) -> UInt64? {
        guard let translation = translate(app, page: page, for: .read) else { return nil }
        return loadAcquire(from: translation, offset: offset)
    }

    /// Stores a 64-bit word with release ordering (everything written before it is visible to
    /// whoever loads the word with acquire), if the page is bound writable.
    @discardableResult
    @inlinable @inline(__always)
    public func storeRelease(_ word: UInt64, to app: AppID, page: UInt32, offset: Int) -> Bool {
        guard let translation = translate(app, page: page, for: .write) else { return false }
        return storeRelease(word, into: translation, offset: offset)
    }

    /// Loads a 64-bit word with acquire ordering from an 8-byte-aligned `offset` of a translation
    /// made earlier in this critical section; nil when the translation lacks `read` or the frame's
    /// generation has moved on since.
    @inlinable @inline(__always)
    public func loadAcquire(from translation: Translation, offset: Int) -> UInt64? {
        guard offset >= 0, offset <= FrameArena.frameSize - 8, offset & 7 == 0,
            translation.rights.contains(.read), Int(translation.frame) < arena.frameCount,
            arena.generation(of: translation.frame) == translation.generation
        else { return nil }
        return MemoryAccess.atomicWord(arena.address(of: translation.frame) + offset)[0].load(
            ordering: .acquiring)
    }

    /// Stores a 64-bit word with release ordering at an 8-byte-aligned `offset` of a translation
    /// made earlier in this critical section, if the frame's generation is still the
    /// translation's (the write path's check, as `write(_:into:offset:)`).
    @discardableResult
    @inlinable @inline(__always)
    public func storeRelease(_ word: UInt64, into translation: Translation, offset: Int) -> Bool {
        guard offset >= 0, offset <= FrameArena.frameSize - 8, offset & 7 == 0,
            translation.rights.contains(.write), Int(translation.frame) < arena.frameCount,
            arena.generation(of: translation.frame) == translation.generation
        else { return false }
        MemoryAccess.atomicWord(arena.address(of: translation.frame) + offset)[0].store(
            word, ordering: .releasing)
        return true
    }

    /// The 8-byte-aligned word at `address` as an atomic: frame memory is untyped bytes shared
    /// with the app, and `Atomic<UInt64>` has the layout of a `UInt64`.
    @inlinable @inline(__always)
    static func atomicWord(_ address: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<UInt64>> {
        address.assumingMemoryBound(to: Atomic<UInt64>.self)
    }
}
