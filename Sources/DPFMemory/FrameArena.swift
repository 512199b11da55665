import Synchronization

#if canImport(Glibc)
    import CMemoryFile
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The physical memory: `frameCount` page frames of 4 KiB in one memory file, mapped shared into
/// the multiplexer, and one generation counter per frame.
///
/// On Linux the file is a `memfd_create` file, so a later stage can map an app's frames into the
/// app's own process from `fileDescriptor` at `offset(of:)`. Elsewhere an unlinked temporary file
/// stands in. The arena knows nothing of owners: that is the frame table's business. The
/// generation of a frame moves on whenever its bindings or owner change; a TLB entry is good only
/// while the generation it was filled under is still the frame's.
public final class FrameArena: @unchecked Sendable {
    // @unchecked: the mapping and the generations are fixed for the arena's life; bytes in frames
    // are guarded by the epoch protocol (see EpochDomain), generations are atomics.
    public static let frameSize = 4096

    public let frameCount: Int
    /// The memory file; frame `n` is at byte `n * frameSize`.
    public let fileDescriptor: Int32
    let base: UnsafeMutableRawPointer
    let generations: UnsafeMutablePointer<Atomic<UInt64>>

    /// The most frames an arena holds: 16 GiB of frames, far past any ring set, and small enough
    /// that the core's per-frame records stay a modest allocation.
    public static let maximumFrames = 1 << 22

    public init(frameCount: Int) throws(MemoryError) {
        guard frameCount > 0 && frameCount <= FrameArena.maximumFrames else {
            throw .invalidConfiguration(
                "frames must be in 1...\(FrameArena.maximumFrames), not \(frameCount)")
        }
        let bytes = frameCount * FrameArena.frameSize
        #if os(Linux)
            let fd = dpf_memory_file_create("dpf-frames")
        #else
            var template = Array("/tmp/dpf-frames-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            if fd >= 0 { unlink(template) }
        #endif
        guard fd >= 0 else { throw .arenaUnavailable(errno: errno) }
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let error = errno
            close(fd)
            throw .arenaUnavailable(errno: error)
        }
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            let error = errno
            close(fd)
            throw .arenaUnavailable(errno: error)
        }
        self.frameCount = frameCount
        self.fileDescriptor = fd
        self.base = mapped
        generations = .allocate(capacity: frameCount)
        for frame in 0..<frameCount { (generations + frame).initialize(to: Atomic(0)) }
    }

    deinit {
        munmap(base, frameCount * FrameArena.frameSize)
        close(fileDescriptor)
        generations.deinitialize(count: frameCount)
        generations.deallocate()
    }

    /// Byte offset of `frame` in the memory file.
    public func offset(of frame: UInt32) -> Int { Int(frame) * FrameArena.frameSize }

    @inline(__always)
    func address(of frame: UInt32) -> UnsafeMutableRawPointer { base + Int(frame) * FrameArena.frameSize }

    /// The address of `frame` in the multiplexer's own mapping of the arena: what an in-process
    /// app uses to reach the frames it owns, as a process would reach them after mapping them
    /// from `fileDescriptor` at `offset(of:)`. The address stays valid for the arena's life, but
    /// the frame's bytes belong to whoever owns the frame now: a user must stop using it once
    /// its binding goes (frames are zeroed and handed on).
    public func address(ofFrame frame: UInt32) throws(MemoryError) -> UnsafeMutableRawPointer {
        guard Int(frame) < frameCount else { throw .frameOutOfRange(frame) }
        return address(of: frame)
    }

    /// The frame's generation now.
    @inline(__always)
    public func generation(of frame: UInt32) -> UInt64 { view.generation(of: frame) }

    /// The memory and generations as plain pointers: what workers use, with no reference counting.
    var view: FrameWords { FrameWords(base: base, generations: generations, frameCount: frameCount) }

    /// Moves the frame's generation on: every TLB entry filled under the old one stops hitting,
    /// and a write that checks after this sees the change.
    func advanceGeneration(of frame: UInt32) {
        generations[Int(frame)].wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// Zeroes the frames. The caller has made sure no writer can still be inside them. A run of
    /// at least `punchThreshold` adjacent frames is given back to the kernel instead (a hole
    /// punched in the memory file reads as zeros and costs no page faults for frames never
    /// touched); shorter runs are cleared in place.
    func zero(_ frames: [UInt32]) {
        var index = 0
        let sorted = frames.sorted()
        while index < sorted.count {
            var end = index + 1
            while end < sorted.count && sorted[end] == sorted[end - 1] + 1 { end += 1 }
            let first = sorted[index]
            let count = end - index
            if count < FrameArena.punchThreshold || !punch(from: first, count: count) {
                memset(address(of: first), 0, count * FrameArena.frameSize)
            }
            index = end
        }
    }

    static let punchThreshold = 16

    private func punch(from frame: UInt32, count: Int) -> Bool {
        #if os(Linux)
            return dpf_memory_file_punch(fileDescriptor, offset(of: frame), count * FrameArena.frameSize) == 0
        #else
            return false
        #endif
    }

    /// A copy of the frame's bytes (for tests and debugging; racy against concurrent writers).
    public func contents(of frame: UInt32) throws(MemoryError) -> [UInt8] {
        guard Int(frame) < frameCount else { throw .frameOutOfRange(frame) }
        return Array(UnsafeRawBufferPointer(start: address(of: frame), count: FrameArena.frameSize))
    }
}

/// The arena's memory and generations as plain pointers (see `FrameArena`).
@usableFromInline
struct FrameWords {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let generations: UnsafeMutablePointer<Atomic<UInt64>>
    @usableFromInline let frameCount: Int

    @usableFromInline
    init(base: UnsafeMutableRawPointer, generations: UnsafeMutablePointer<Atomic<UInt64>>, frameCount: Int) {
        self.base = base
        self.generations = generations
        self.frameCount = frameCount
    }

    @inlinable @inline(__always)
    func generation(of frame: UInt32) -> UInt64 {
        generations[Int(frame)].load(ordering: .sequentiallyConsistent)
    }

    @inlinable @inline(__always)
    func address(of frame: UInt32) -> UnsafeMutableRawPointer { base + Int(frame) * FrameArena.frameSize }
}
