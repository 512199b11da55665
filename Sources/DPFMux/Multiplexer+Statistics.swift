import DPFMemory
import DPFTrie

extension Multiplexer {
    /// The counters now: each worker's at its last batch boundary (so they balance), every app's
    /// and filter's (removed filters included), and the memory core's.
    public func statistics() -> MuxStatistics {
        var received: UInt64 = 0
        var owners = DeliveryCounters()
        var unmatched: UInt64 = 0
        var malformed: UInt64 = 0
        var apps = Array(repeating: DeliveryCounters(), count: configuration.maxApps)
        var filters: [DeliveryCounters] = []
        for worker in workers {
            worker.withState { state in
                received &+= state.received
                owners.add(state.owners)
                unmatched &+= state.unmatched
                malformed &+= state.malformed
                for (slot, counters) in state.apps.enumerated() { apps[slot].add(counters) }
                if filters.count < state.filters.count {
                    filters += Array(
                        repeating: DeliveryCounters(), count: state.filters.count - filters.count)
                }
                for (id, counters) in state.filters.enumerated() { filters[id].add(counters) }
            }
        }
        let (registered, labels, installed, generation, fixed) = control.withLock { state in
            (
                state.apps.compactMap { $0.map { ($0.id, $0.name) } }, state.labels, Set(state.filters.keys),
                state.generation, state.fixedEngine != nil
            )
        }
        var tlbHits: UInt64 = 0
        var tlbMisses: UInt64 = 0
        var repossessions = 0
        var pending = 0
        let appStatistics = registered.map { id, name in
            let tlb = memory.tlbStatistics(of: id)
            let repossessed = memory.repossessionVector(of: id).count
            tlbHits &+= tlb.hits
            tlbMisses &+= tlb.misses
            repossessions += repossessed
            if memory.pendingRevocation(of: id) != nil { pending += 1 }
            return MuxStatistics.App(
                id: id, name: name, counters: apps[Int(id.index)], tlb: tlb,
                frames: memory.frameCount(ownedBy: .app(id)), repossessed: repossessed)
        }
        let filterStatistics = labels.keys.sorted().map { id in
            let label = labels[id]!
            return MuxStatistics.Filter(
                id: id, name: label.name, app: label.app, isTap: label.isTap,
                isInstalled: fixed || installed.contains(id),
                counters: Int(id.rawValue) < filters.count ? filters[Int(id.rawValue)] : DeliveryCounters())
        }
        return MuxStatistics(
            received: received, delivered: owners.delivered, dropped: owners.dropped,
            cancelled: owners.cancelled,
            unmatched: unmatched, malformed: malformed, generation: generation, apps: appStatistics,
            filters: filterStatistics,
            memory: MuxStatistics.Memory(
                frames: configuration.frames, freeFrames: memory.freeFrameCount, tlbHits: tlbHits,
                tlbMisses: tlbMisses, repossessions: repossessions, pendingRevocations: pending))
    }
}
