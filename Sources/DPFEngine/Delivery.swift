import DPFTrie

/// What one app or filter received.
public struct Tally: Sendable, Equatable {
    public var packets = 0
    public var bytes = 0

    public init(packets: Int = 0, bytes: Int = 0) {
        self.packets = packets
        self.bytes = bytes
    }

    @inline(__always)
    mutating func count(_ length: Int) {
        packets += 1
        bytes += length
    }
}

/// Where one packet went, as the delivery layer resolved it.
public struct PacketDelivery {
    /// The packet's position among all the packets delivered so far, from 0.
    public let sequence: Int
    public let bytes: UnsafeRawBufferPointer
    /// The owning filter's number in the engine's `FilterTable`, or nil.
    public let owner: Int32?
    /// The matching taps' numbers, each once, in no particular order.
    public let taps: UnsafeBufferPointer<Int32>
}

/// The delivery layer every command shares: runs an engine over batches of packets and turns its
/// verdicts into deliveries — the owner's app gets the packet, every app with a matching tap gets
/// one copy however many of its taps match — and counts them per app and per filter. The
/// multiplexer's rings will sit behind the same resolution.
///
/// Per packet it allocates nothing: verdicts go to a buffer allocated once, and tap apps are
/// de-duplicated with a per-app mark of the last packet that reached them.
public final class Delivery {
    public let engine: any DemuxEngine
    public var filters: FilterTable { engine.filters }

    /// Packets delivered (offered to the engine) so far.
    public private(set) var packets = 0
    /// Packets no exclusive filter owned (taps may still have copied them).
    public private(set) var unmatched = 0
    /// Per app, in `filters.apps` order: owned packets, or tap copies.
    public private(set) var apps: [Tally]
    /// Per filter, in number order: packets it owned, or matched as a tap.
    public private(set) var perFilter: [Tally]

    private let verdicts: VerdictBatch
    /// Per app, the sequence number of the last packet it got a copy of (-1: none yet).
    private var lastCopy: [Int]

    /// Verdicts are computed `batchCapacity` packets at a time.
    public init(_ engine: any DemuxEngine, batchCapacity: Int = 256) {
        self.engine = engine
        verdicts = engine.makeVerdicts(packets: batchCapacity)
        apps = Array(repeating: Tally(), count: engine.filters.apps.count)
        perFilter = Array(repeating: Tally(), count: engine.filters.count)
        lastCopy = Array(repeating: -1, count: engine.filters.apps.count)
    }

    /// Demultiplexes every packet of `batch`, counts the deliveries, and shows each packet's
    /// delivery to `observe` in order.
    public func deliver(_ batch: PacketBatch, observe: (PacketDelivery) -> Void = { _ in }) {
        let views = batch.views
        var done = 0
        let appOfFilter = engine.filters.appOfFilter
        while done < views.count {
            let ran = engine.run(UnsafeBufferPointer(rebasing: views[done...]), into: verdicts)
            precondition(ran > 0, "a verdict batch without room for the engine's taps")
            for index in 0..<ran {
                let bytes = views[done + index]
                let owner = verdicts.owners[index]
                let taps = verdicts.taps(of: index)
                if owner >= 0 {
                    perFilter[Int(owner)].count(bytes.count)
                    apps[Int(appOfFilter[Int(owner)])].count(bytes.count)
                } else {
                    unmatched += 1
                }
                for tap in taps {
                    perFilter[Int(tap)].count(bytes.count)
                    let app = Int(appOfFilter[Int(tap)])
                    if lastCopy[app] != packets {
                        lastCopy[app] = packets
                        apps[app].count(bytes.count)
                    }
                }
                observe(
                    PacketDelivery(
                        sequence: packets, bytes: bytes, owner: owner >= 0 ? owner : nil, taps: taps))
                packets += 1
            }
            done += ran
        }
    }

    /// Each packet's owning app (an index into `filters.apps`, or -1), without counting: what
    /// `dpf bench` compares across engines.
    public static func ownerApps(_ engine: any DemuxEngine, _ batch: PacketBatch) -> [Int32] {
        let verdicts = engine.makeVerdicts(packets: 256)
        let appOfFilter = engine.filters.appOfFilter
        var apps: [Int32] = []
        var done = 0
        let views = batch.views
        while done < views.count {
            let ran = engine.run(UnsafeBufferPointer(rebasing: views[done...]), into: verdicts)
            precondition(ran > 0, "a verdict batch without room for the engine's taps")
            apps += verdicts.owners[0..<ran].map { $0 < 0 ? -1 : appOfFilter[Int($0)] }
            done += ran
        }
        return apps
    }
}

extension PacketDelivery {
    /// The delivery in stable filter ids, taps sorted: comparable across engines and program
    /// generations (allocates; for tools and tests).
    public func verdict(in table: FilterTable) -> Verdict {
        Verdict(
            owner: owner.map { table.filters[Int($0)].id },
            taps: taps.map { table.filters[Int($0)].id }.sorted())
    }
}
