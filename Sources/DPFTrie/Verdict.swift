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
    /// The verdict the delivery rule gives when every installed filter's paths are evaluated one by
    /// one with the reference evaluator: the oracle the trie walker is tested against.
    public func referenceVerdict(for packet: Packet) -> Verdict {
        referenceVerdicts(for: [packet])[0]
    }

    /// `referenceVerdict(for:)` for many packets, expanding every filter's paths once.
    public func referenceVerdicts(for packets: [Packet]) -> [Verdict] {
        let expanded = installed.map { (id: $0.id, filter: $0.filter, paths: $0.filter.paths) }
        return packets.map { packet in
            var best: DeliveryRank.Candidate?
            var taps: [FilterID] = []
            for (id, filter, paths) in expanded {
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
}
