import DPFBytecode
import DPFCompiler
import DPFTrie

/// An engine that demultiplexes: a batch of packets as borrowed bytes in, each packet's owning
/// filter and matching taps out, as numbers into `filters`. The reference evaluator, the trie
/// walker and the bytecode interpreter implement it (native code will be the fourth), so the
/// delivery layer, the commands and the test vectors treat them all alike.
public protocol DemuxEngine: AnyObject {
    /// Which engine this is, as the command line names it.
    var kind: EngineKind { get }
    /// The filters the verdicts' numbers name.
    var filters: FilterTable { get }
    /// Writes verdicts for `packets` from the first into `verdicts`, as many as fit: at most its
    /// capacity, stopping before a packet whose taps might not fit in the tap room left. Returns
    /// how many packets it did (also stored as `verdicts.count`); at least one when `packets` is
    /// not empty.
    func run(_ packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, into verdicts: VerdictBatch) -> Int
}

/// The engines the command line offers.
public enum EngineKind: String, Sendable, CaseIterable {
    case reference, trie, bytecode

    /// This engine over the filters of `trie` (the bytecode engine compiles and verifies them).
    public func make(_ trie: DecisionTrie) throws(CompileError) -> any DemuxEngine {
        switch self {
        case .reference: ReferenceEngine(trie)
        case .trie: TrieEngine(trie)
        case .bytecode: BytecodeEngine(Interpreter(try Compiler.compile(trie)))
        }
    }
}

extension DemuxEngine {
    /// A verdict batch for up to `packets` packets with tap room for this engine's filters.
    public func makeVerdicts(packets: Int) -> VerdictBatch {
        VerdictBatch(packets: packets, filters: filters.count)
    }

    /// Runs every packet of `batch`, in as many runs as `verdicts` needs, and sums the owners'
    /// numbers (-1 for none): the timed loop of `dpf bench` and the benchmarks, whose checksum
    /// keeps the work from being optimised away.
    public func sumOfOwners(_ batch: PacketBatch, using verdicts: VerdictBatch) -> Int {
        var total = 0
        var done = 0
        let packets = batch.views
        while done < packets.count {
            let ran = run(UnsafeBufferPointer(rebasing: packets[done...]), into: verdicts)
            precondition(ran > 0, "a verdict batch without room for this engine's taps")
            for owner in verdicts.owners[0..<ran] { total &+= Int(owner) }
            done += ran
        }
        return total
    }
}

/// The bytecode interpreter over a verified program.
public final class BytecodeEngine: DemuxEngine {
    public let interpreter: Interpreter
    public let filters: FilterTable
    public var kind: EngineKind { .bytecode }

    public init(_ interpreter: Interpreter) {
        self.interpreter = interpreter
        filters = FilterTable(interpreter.verified)
    }

    public func run(_ packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, into verdicts: VerdictBatch)
        -> Int
    {
        let count = min(packets.count, verdicts.capacity)
        let ran = interpreter.run(
            batch: UnsafeBufferPointer(rebasing: packets[0..<count]), owners: verdicts.owners,
            tapEnds: verdicts.tapEnds, taps: verdicts.taps)
        verdicts.count = ran
        return ran
    }
}

/// The trie walker: no compilation, the trie's own structure walked per packet.
public final class TrieEngine: DemuxEngine {
    public let trie: DecisionTrie
    public let filters: FilterTable
    private let numbers: [Int32]
    public var kind: EngineKind { .trie }

    /// The trie must not change while the engine is in use.
    public init(_ trie: DecisionTrie) {
        self.trie = trie
        filters = FilterTable(trie)
        numbers = filters.numbersByID
    }

    public func run(_ packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, into verdicts: VerdictBatch)
        -> Int
    {
        verdicts.record(packets, numbers: numbers, filterCount: filters.count) { trie.verdict($0) }
    }
}

/// The delivery rule over the reference evaluator, each filter's paths evaluated one by one: the
/// slow, obviously correct engine every other one is checked against.
public final class ReferenceEngine: DemuxEngine {
    private let delivery: ReferenceDelivery
    public let filters: FilterTable
    private let numbers: [Int32]
    public var kind: EngineKind { .reference }

    public init(_ trie: DecisionTrie) {
        delivery = ReferenceDelivery(trie)
        filters = FilterTable(trie)
        numbers = filters.numbersByID
    }

    public func run(_ packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, into verdicts: VerdictBatch)
        -> Int
    {
        verdicts.record(packets, numbers: numbers, filterCount: filters.count) { delivery.verdict($0) }
    }
}

extension FilterTable {
    /// Each filter's number, indexed by stable id (-1 for ids not in the table): ids are handed
    /// out densely in install order, so an array beats hashing on the per-packet path.
    var numbersByID: [Int32] {
        var numbers = [Int32](repeating: -1, count: Int(filters.map(\.id.rawValue).max().map { $0 + 1 } ?? 0))
        for (number, filter) in filters.enumerated() { numbers[Int(filter.id.rawValue)] = Int32(number) }
        return numbers
    }
}

extension VerdictBatch {
    /// Writes the verdicts `verdict` gives, as filter numbers, under the tap-room rule of
    /// `DemuxEngine.run`.
    func record(
        _ packets: UnsafeBufferPointer<UnsafeRawBufferPointer>, numbers: [Int32], filterCount: Int,
        _ verdict: (UnsafeRawBufferPointer) -> Verdict
    ) -> Int {
        let lastStart = taps.count - filterCount
        var written = 0
        var index = 0
        while index < min(packets.count, capacity), written <= lastStart {
            let found = verdict(packets[index])
            owners[index] = found.owner.map { numbers[Int($0.rawValue)] } ?? -1
            for tap in found.taps {
                taps[written] = numbers[Int(tap.rawValue)]
                written += 1
            }
            tapEnds[index] = Int32(written)
            index += 1
        }
        count = index
        return index
    }
}
