import DPFBytecode

/// Result buffers for the interpreter's batch entry point, allocated once, outside the timing,
/// shared by `dpf bench` and the Bytecode benchmark suite.
public final class BatchResults {
    private var owners: [Int32]
    private var tapEnds: [Int32]
    private var taps: [Int32]

    public init(packets: Int, filters: Int) {
        owners = Array(repeating: 0, count: packets)
        tapEnds = Array(repeating: 0, count: packets)
        taps = Array(repeating: 0, count: max(1, filters))
    }

    /// Runs the whole batch, as `sumOfOwners` does, and returns each packet's owning filter (or -1).
    public func owners(_ interpreter: Interpreter, _ batch: PacketBatch) -> [Int32] {
        _ = sumOfOwners(interpreter, batch)
        return Array(owners[0..<batch.count])
    }

    /// Runs the whole batch (in as many calls as tap room demands) and sums the owners.
    public func sumOfOwners(_ interpreter: Interpreter, _ batch: PacketBatch) -> Int {
        owners.withUnsafeMutableBufferPointer { owners in
            tapEnds.withUnsafeMutableBufferPointer { tapEnds in
                taps.withUnsafeMutableBufferPointer { taps in
                    var done = 0
                    while done < batch.count {
                        done += interpreter.run(
                            batch: UnsafeBufferPointer(rebasing: batch.views[done...]),
                            owners: UnsafeMutableBufferPointer(rebasing: owners[done...]),
                            tapEnds: UnsafeMutableBufferPointer(rebasing: tapEnds[done...]), taps: taps)
                    }
                    return owners.reduce(0) { $0 &+ Int($1) }
                }
            }
        }
    }
}
