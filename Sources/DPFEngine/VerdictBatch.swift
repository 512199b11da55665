/// Where an engine writes a batch's verdicts, allocated once and reused: per packet its owning
/// filter's number (or -1) and the numbers of its matching taps (each tap once, in no particular
/// order). Packet `i`'s taps are `taps[tapEnds[i - 1]..<tapEnds[i]]` (from 0 for the first).
public final class VerdictBatch: @unchecked Sendable {
    public let owners: UnsafeMutableBufferPointer<Int32>
    public let tapEnds: UnsafeMutableBufferPointer<Int32>
    public let taps: UnsafeMutableBufferPointer<Int32>
    /// Packets the last run gave verdicts for.
    public internal(set) var count = 0

    /// Room for `packets` verdicts; tap room for at least one packet whose every filter is a tap
    /// (an engine stops a run early when the next packet's taps might not fit).
    public init(packets: Int, filters: Int, tapRoom: Int = 0) {
        owners = .allocate(capacity: max(1, packets))
        tapEnds = .allocate(capacity: max(1, packets))
        taps = .allocate(capacity: max(1, filters, tapRoom))
        owners.initialize(repeating: -1)
        tapEnds.initialize(repeating: 0)
        taps.initialize(repeating: 0)
    }

    deinit {
        owners.deallocate()
        tapEnds.deallocate()
        taps.deallocate()
    }

    public var capacity: Int { owners.count }

    /// The taps of packet `index` of the last run.
    @inline(__always)
    public func taps(of index: Int) -> UnsafeBufferPointer<Int32> {
        let start = index == 0 ? 0 : Int(tapEnds[index - 1])
        return UnsafeBufferPointer(rebasing: taps[start..<Int(tapEnds[index])])
    }
}
