import DPFMemory
import DPFMux

/// A core with room for a few rings, one worker for the multiplexer.
struct Fixture {
    let core: MemoryCore
    let worker: Worker

    init(frames: Int = 64, pagesPerApp: Int = 64) throws {
        core = try MemoryCore(
            MemoryCore.Configuration(frames: frames, maxApps: 4, pagesPerApp: pagesPerApp, maxWorkers: 2))
        worker = try core.registerWorker()
    }

    /// Offers `packet` to the ring through the worker.
    func deliver(
        _ packet: [UInt8], wireLength: Int? = nil, timestamp: UInt64, tag: UInt64,
        with writer: inout RingWriter
    ) -> DeliveryOutcome {
        core.withCriticalSection(worker) { access in
            packet.withUnsafeBytes {
                writer.deliver($0, wireLength: wireLength, timestamp: timestamp, tag: tag, through: access)
            }
        }
    }

    /// Every frame's bytes.
    func snapshot() throws -> [[UInt8]] {
        try (0..<UInt32(core.arena.frameCount)).map { try core.arena.contents(of: $0) }
    }

    /// Writes `word` at byte `offset` of the ring, as the app may (its own memory).
    func scribble(_ word: UInt64, at offset: Int, in ring: ReceiveRing) throws {
        let frame = ring.frames[offset / RingLayout.pageSize]
        try core.arena.address(ofFrame: frame).storeBytes(
            of: word, toByteOffset: offset % RingLayout.pageSize, as: UInt64.self)
    }

    /// The word at byte `offset` of the ring.
    func word(at offset: Int, in ring: ReceiveRing) throws -> UInt64 {
        let frame = ring.frames[offset / RingLayout.pageSize]
        return try core.arena.address(ofFrame: frame).load(
            fromByteOffset: offset % RingLayout.pageSize, as: UInt64.self)
    }
}

/// Packet `sequence`'s bytes: `count` bytes that differ from packet to packet.
func packet(_ sequence: Int, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: sequence &* 31 &+ $0 &* 7 &+ 1) }
}
