import DPFWire

/// A verified program decoded once for execution: the layer the interpreter runs and that native
/// code (a later x86-64 backend) shares, so both execute one set of decoded semantics rather than
/// each deriving its own from `Program`.
///
/// - `steps`: one `DecodedStep` per instruction, in order; a step's `target` is the byte offset
///   of the step it jumps to (`index * DecodedStep.size`).
/// - `hashedSlots`: the slots of every collision-free and probing table, in table order, back to
///   back; a dispatch step's `operand` is its table's first slot here.
/// - `directTargets`: the targets of every direct table, likewise.
/// - `ranks`: per filter number, its `DeliveryRank` (0 for a tap).
///
/// A table target is a step's byte offset, `DispatchTable.empty`, or a terminal entry
/// (`DispatchTable.terminalBit | filter`: accept the filter with the dispatch's specificity, then
/// continue at the dispatch's `target`), as in `DispatchTable`. A table of one or two entries is
/// compared in its `pair` step, which does not read the buffers. The memory is owned by this
/// object and immutable, so threads may share it; the buffers stay valid while it lives.
public final class DecodedProgram: @unchecked Sendable {
    public let verified: VerifiedProgram
    /// Base registers the program uses; register 0 is the packet start.
    public let registerCount: Int
    public let filterCount: Int

    // The buffers as plain pointers (each allocated with room for at least one element), for the
    // interpreter's locals.
    let stepStart: UnsafeMutablePointer<DecodedStep>
    let hashedStart: UnsafeMutablePointer<HashedSlot>
    let directStart: UnsafeMutablePointer<UInt32>
    let rankStart: UnsafeMutablePointer<UInt64>
    private let hashedCount: Int
    private let directCount: Int

    public init(_ verified: VerifiedProgram) {
        precondition(
            DecodedStep.size == MemoryLayout<DecodedStep>.stride, "steps are \(DecodedStep.size) bytes")
        self.verified = verified
        // Decoding reads values the program supplies; the verifier bounds every one this arithmetic
        // uses, for every instruction and every table (also tables no dispatch reads), so none of
        // it can overflow: targets stay below `maximumInstructions` (2^20, so byte offsets below
        // 2^25), slots of all tables together below `maximumTableSlots` (2^24), filter numbers
        // below `maximumFilters` (2^24), widths in 1, 2 and 4, table numbers in range.
        // Jump targets become byte offsets of steps.
        var program = verified.program
        program.retarget { $0 * UInt32(DecodedStep.size) }
        let tables = program.tables
        var hashed: [HashedSlot] = []
        var direct: [UInt32] = []
        var tableStarts: [Int] = []
        for table in tables {
            if table.isHashed {
                tableStarts.append(hashed.count)
                hashed += zip(table.keys, table.targets).map { HashedSlot(key: $0, target: $1) }
            } else {
                tableStarts.append(direct.count)
                direct += table.targets
            }
        }
        stepStart = DecodedProgram.copy(
            program.instructions.map { DecodedStep($0, tables: tables, tableStarts: tableStarts) })
        hashedStart = DecodedProgram.copy(hashed)
        directStart = DecodedProgram.copy(direct)
        rankStart = DecodedProgram.copy(
            program.filters.enumerated().map { DeliveryRank.rank(filter: $0, $1) })
        hashedCount = hashed.count
        directCount = direct.count
        registerCount = program.registerCount
        filterCount = program.filters.count
    }

    deinit {
        stepStart.deallocate()
        hashedStart.deallocate()
        directStart.deallocate()
        rankStart.deallocate()
    }

    private static func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
        _ = UnsafeMutableBufferPointer(start: buffer, count: array.count).initialize(from: array)
        return buffer
    }

    public var steps: UnsafeBufferPointer<DecodedStep> {
        UnsafeBufferPointer(start: stepStart, count: verified.program.instructions.count)
    }
    public var hashedSlots: UnsafeBufferPointer<HashedSlot> {
        UnsafeBufferPointer(start: hashedStart, count: hashedCount)
    }
    public var directTargets: UnsafeBufferPointer<UInt32> {
        UnsafeBufferPointer(start: directStart, count: directCount)
    }
    public var ranks: UnsafeBufferPointer<UInt64> {
        UnsafeBufferPointer(start: rankStart, count: filterCount)
    }

    /// The step at byte offset `target` (a step's `target`, or a table's code target).
    public func step(at target: UInt32) -> DecodedStep { stepStart[Int(target) / DecodedStep.size] }

    /// Each filter's stable id, by filter number.
    public var filterIDs: [UInt32] { verified.program.filters.map(\.id) }
    /// The program's apps, in order of their first filter.
    public var apps: [String] { verified.apps }
    /// Each filter's app, as an index into `apps`.
    public var appOfFilter: [Int32] { verified.appOfFilter }

    /// One slot of a hashed table, key next to target so a lookup touches one cache line. A free
    /// slot's target is `DispatchTable.empty`.
    public struct HashedSlot: Sendable, Equatable {
        public var key: UInt32
        public var target: UInt32

        public init(key: UInt32, target: UInt32) {
            self.key = key
            self.target = target
        }
    }
}

/// The delivery rule (`DeliveryKey`) as the decoded layer applies it while a packet runs. Each
/// filter's *rank* is its key without specificity, with the filter number as the install order
/// (numbers follow install order), precomputed once; a match makes a *candidate* by adding the
/// path's specificity, and the owner is the candidate with the highest value, so keeping the best
/// is one `max` and the winner's number is the key's order. `none` (0) means no candidate yet; no
/// filter's rank is 0, since numbers stay below `Verifier.maximumFilters`, so a rank of 0 marks a
/// tap (which always gets a copy and never competes).
public enum DeliveryRank {
    /// `DeliveryKey.none`'s raw value, as a literal: read per packet, it must need no lazy
    /// initialisation (a test checks the two agree).
    public static let none: UInt64 = 0

    /// Filter `number`'s rank, or 0 for a tap.
    public static func rank(filter number: Int, _ filter: ProgramFilter) -> UInt64 {
        filter.isTap ? 0 : DeliveryKey.rank(priority: filter.priority, order: UInt32(number))
    }

    /// The candidate key of an exclusive filter of rank `rank` matched with `specificity`.
    @inline(__always)
    public static func candidate(_ rank: UInt64, specificity: UInt16) -> UInt64 {
        DeliveryKey.candidate(rank, specificity: specificity)
    }

    /// The owning filter's number for the best candidate `best`, or -1 for `none`.
    @inline(__always)
    public static func owner(_ best: UInt64) -> Int32 {
        best == none ? -1 : Int32(bitPattern: DeliveryKey(rawValue: best).order)
    }
}
