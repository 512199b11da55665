import DPFFilter
import DPFWire

/// Where a packet goes: at most one exclusive owner, plus copies for every matching tap.
public struct Verdict: Sendable, Equatable, CustomStringConvertible {
    public var owner: FilterID?
    /// Matching taps, in increasing id order.
    public var taps: [FilterID]

    public init(owner: FilterID? = nil, taps: [FilterID] = []) {
        self.owner = owner
        self.taps = taps
    }

    public var description: String { "owner \(owner.map(String.init(describing:)) ?? "none"), taps \(taps)" }
}

/// The delivery rule (DESIGN.md): the exclusive owner is the matching non-tap filter with the
/// highest priority, then the most specific matching path, then (within one app, since ties between
/// apps are refused at insert) the earliest installed.
enum DeliveryRank {
    struct Candidate {
        var filter: Int32
        var priority: Int
        var specificity: Int32
        var sequence: UInt64
    }

    /// True if `a` beats `b`.
    @inline(__always)
    static func beats(_ a: Candidate, _ b: Candidate) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.specificity != b.specificity { return a.specificity > b.specificity }
        return a.sequence < b.sequence
    }
}

extension DecisionTrie {
    /// The verdicts the delivery rule gives when every installed filter's paths are evaluated one
    /// by one with the reference evaluator (each filter's paths expanded once for all the packets):
    /// the oracle the trie walker is tested against.
    public func referenceVerdicts(for packets: [Packet]) -> [Verdict] {
        let delivery = ReferenceDelivery(self)
        return packets.map { delivery.verdict(for: $0) }
    }
}

/// The delivery rule over the reference evaluator, with every installed filter's paths expanded
/// once: the slow, obviously correct engine (`--engine reference`).
public struct ReferenceDelivery {
    private let filters: [(id: FilterID, filter: InstalledFilter, paths: [FilterPath])]

    public init(_ trie: DecisionTrie) {
        filters = trie.installed.map { ($0.id, $0.filter, $0.filter.paths) }
    }

    public func verdict(for packet: Packet) -> Verdict {
        var best: DeliveryRank.Candidate?
        var taps: [FilterID] = []
        for (id, filter, paths) in filters {
            let matching = paths.filter { path in
                path.literals.allSatisfy {
                    ReferenceEvaluator.holds($0.atom, bytes: packet.bytes) != $0.isNegated
                }
            }
            guard let specificity = matching.map(\.specificity).max() else { continue }
            if filter.isTap {
                taps.append(id)
                continue
            }
            let candidate = DeliveryRank.Candidate(
                filter: id.rawValue, priority: filter.priority, specificity: Int32(specificity),
                sequence: filter.sequence)
            if best.map({ DeliveryRank.beats(candidate, $0) }) ?? true { best = candidate }
        }
        return Verdict(owner: best.map { FilterID(rawValue: $0.filter) }, taps: taps.sorted())
    }
}
