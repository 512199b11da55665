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

    public func verdict(for packet: Packet) -> Verdict { verdict(bytes: packet.bytes) }

    /// The verdict for borrowed packet bytes (a batch's), without copying them.
    public func verdict(_ packet: UnsafeRawBufferPointer) -> Verdict { verdict(bytes: packet) }

    private func verdict<Bytes: PacketBytes>(bytes: Bytes) -> Verdict {
        var best = DeliveryKey.none
        var owner: FilterID?
        var taps: [FilterID] = []
        for (id, filter, paths) in filters {
            let matching = paths.filter { path in
                path.literals.allSatisfy {
                    ReferenceEvaluator.holds($0.atom, bytes: bytes) != $0.isNegated
                }
            }
            guard let specificity = matching.map(\.specificity).max() else { continue }
            if filter.isTap {
                taps.append(id)
                continue
            }
            // The trie admits only priorities and specificities the key can hold.
            let key = DeliveryKey(
                priority: UInt16(filter.priority), specificity: UInt16(specificity), order: filter.sequence)
            if key > best {
                best = key
                owner = id
            }
        }
        return Verdict(owner: owner, taps: taps.sorted())
    }
}
