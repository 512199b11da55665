/// Who owns each frame, who may read it, what is bound to it and what is queued for it: the
/// control plane's book of the arena, kept under the core's lock.
struct FrameTable {
    struct Entry {
        /// nil when the frame is free.
        var owner: Principal?
        /// Root capabilities over this frame (the one minted at allocation, range capabilities),
        /// revoked when the frame is freed or repossessed.
        var roots: [UInt32] = []
        /// Every page-table binding of the frame, the owner's and read-only sharers'.
        var bindings: [PageKey] = []
        /// Writes queued for the frame, not yet delivered.
        var queued: [QueuedWrite] = []
    }

    private(set) var entries: [Entry]
    /// One bit per frame, set when free: allocating "any" frame takes the lowest free number, so
    /// allocation order is deterministic (a free list kept as a bitmap).
    private var freeBits: [UInt64]
    /// No word before this one has a free bit: allocation resumes its search here instead of at
    /// word 0, so filling an arena of n frames costs O(n), not O(n²/64).
    private var firstCandidateWord = 0
    private(set) var freeCount: Int
    /// Frames each principal owns (absent: none).
    private var ownedCounts: [Principal: Int] = [:]

    init(frameCount: Int) {
        entries = Array(repeating: Entry(), count: frameCount)
        freeBits = Array(repeating: ~0, count: (frameCount + 63) / 64)
        let tail = frameCount % 64
        if tail != 0 { freeBits[freeBits.count - 1] = (1 << UInt64(tail)) - 1 }
        freeCount = frameCount
    }

    var count: Int { entries.count }

    subscript(frame: UInt32) -> Entry {
        get { entries[Int(frame)] }
        _modify { yield &entries[Int(frame)] }
    }

    func isFree(_ frame: UInt32) -> Bool { entries[Int(frame)].owner == nil }

    mutating func lowestFree() -> UInt32? {
        while firstCandidateWord < freeBits.count {
            let bits = freeBits[firstCandidateWord]
            if bits != 0 { return UInt32(firstCandidateWord * 64 + bits.trailingZeroBitCount) }
            firstCandidateWord += 1
        }
        return nil
    }

    mutating func take(_ frame: UInt32, for owner: Principal) {
        entries[Int(frame)].owner = owner
        ownedCounts[owner, default: 0] += 1
        freeBits[Int(frame) / 64] &= ~(1 << UInt64(frame % 64))
        freeCount -= 1
    }

    /// Back on the free list; the caller has zeroed it and broken everything bound to it.
    mutating func release(_ frame: UInt32) {
        if let owner = entries[Int(frame)].owner {
            ownedCounts[owner, default: 1] -= 1
            if ownedCounts[owner] == 0 { ownedCounts[owner] = nil }
        }
        entries[Int(frame)] = Entry()
        freeBits[Int(frame) / 64] |= 1 << UInt64(frame % 64)
        firstCandidateWord = min(firstCandidateWord, Int(frame) / 64)
        freeCount += 1
    }

    /// How many frames `owner` owns, in O(1).
    func frameCount(ownedBy owner: Principal) -> Int { ownedCounts[owner] ?? 0 }

    /// Frames owned by `owner`, ascending.
    func frames(ownedBy owner: Principal) -> [UInt32] {
        entries.indices.compactMap { entries[$0].owner == owner ? UInt32($0) : nil }
    }
}

/// A write waiting to be delivered into a frame (what deliveries into rings become): cancelled if
/// the frame changes hands first.
struct QueuedWrite {
    var app: AppID
    var page: UInt32
    var generation: UInt64
    var offset: Int
    var bytes: [UInt8]
}
