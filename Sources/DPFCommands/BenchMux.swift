import DPFEngine
import DPFMemory
import DPFMux
import DPFWorkloads

extension BenchRunners {
    /// The multiplexer over the workload: every app registered with one ring per worker and its
    /// filter installed through the capability checks; each pass runs every packet from an
    /// in-memory source into the rings (with `workers` threads), then the apps' consumers read
    /// and release what arrived. Rings hold a pass's packets for any app, so nothing drops.
    static func multiplexer(_ workload: PortsWorkload, workers: Int, engine: BenchCommand.Engine) throws
        -> Runner
    {
        guard workload.apps.count <= MemoryCore.Configuration.appLimit else {
            throw CommandFailure(
                .usage,
                "the multiplexer registers at most \(MemoryCore.Configuration.appLimit) apps; --filters \(workload.apps.count) is too many for --engines \(engine.rawValue)"
            )
        }
        let trie = try workload.trie()
        let reference = try EngineKind.bytecode.make(trie)
        var perApp: [String: Int] = [:]
        let owners = Delivery.ownerApps(reference, PacketBatch(workload.packets))
        for owner in owners where owner >= 0 {
            perApp[reference.filters.apps[Int(owner)].name, default: 0] += 1
        }
        var slots = 1
        while slots < max(1, perApp.values.max() ?? 1) { slots *= 2 }
        let pagesPerRing = try RingLayout(slotCount: slots, slotSize: 128).pages
        let mux: Multiplexer
        var consumers: [RingConsumer] = []
        var appIndex: [UInt64: Int32] = [:]
        var allRings: [ReceiveRing] = []
        do {
            mux = try Multiplexer(
                MuxConfiguration(
                    linkType: trie.linkType, workers: workers,
                    frames: workload.apps.count * workers * pagesPerRing,
                    maxApps: workload.apps.count, pagesPerApp: workers * pagesPerRing))
            try mux.withChangesBatched { () throws(MuxError) in
                for (index, app) in workload.apps.enumerated() {
                    let registered = try mux.registerApp(named: app.name)
                    let rings = try mux.createRings(
                        for: registered.id, presenting: registered.binding, slots: slots, slotSize: 128)
                    let installed = try mux.install(
                        FilterRequest(name: app.filterName, tree: app.tree), for: registered.id,
                        presenting: registered.binding)
                    appIndex[UInt64(installed.id.rawValue)] = Int32(index)
                    allRings += rings
                }
            }
            for ring in allRings { consumers.append(try RingConsumer(core: mux.memory, ring: ring)) }
        } catch {
            throw CommandFailure(.internalError, "internal error: cannot set up the multiplexer: \(error)")
        }
        let source = InMemorySource(workload.packets, linkType: trie.linkType)
        let drain = { (record: (Int, Int32) -> Void) -> Int in
            var read = 0
            for index in consumers.indices {
                while let packet = consumers[index].next() {
                    record(Int(packet.timestamp), appIndex[packet.tag] ?? -2)
                    consumers[index].release()
                    read += 1
                }
            }
            return read
        }
        let pass = { () -> Int in
            source.rewind()
            _ = try? mux.run(source)
            return 0
        }
        return Runner(
            engine: engine,
            run: {
                _ = pass()
                return drain { _, _ in }
            },
            owners: {
                _ = pass()
                var owners = [Int32](repeating: -1, count: workload.packets.count)
                _ = drain { packet, app in owners[packet] = app }
                return owners
            })
    }
}
