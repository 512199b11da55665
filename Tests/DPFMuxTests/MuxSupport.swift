import DPFEngine
import DPFFilter
import DPFMemory
import DPFMux
import DPFTestSupport
import DPFTrie
import DPFWire

/// A multiplexer with apps set up the way a test wants them, and an oracle: a trie built by the
/// same installs, whose reference verdicts say where each packet must go.
final class MuxHarness {
    let mux: Multiplexer
    var apps: [String: MuxApp] = [:]
    /// Every guard handed out, by filter id, held by the filter's app.
    var guards: [FilterID: (app: AppID, capability: CapabilityHandle)] = [:]
    var filterIDs: [String: FilterID] = [:]

    init(
        workers: Int = 1, engine: EngineKind = .bytecode, frames: Int = 8_192, maxApps: Int = 32,
        batchSize: Int = 64, linkType: LinkType = .ethernet
    ) throws {
        mux = try Multiplexer(
            MuxConfiguration(
                linkType: linkType, workers: workers, engine: engine, frames: frames, maxApps: maxApps,
                pagesPerApp: 2_048, batchSize: batchSize))
    }

    /// Registers `name` (if new) with rings of `slots` slots.
    @discardableResult
    func app(_ name: String, slots: Int = 512, slotSize: Int = 2_048) throws -> MuxApp {
        if let known = apps[name] { return known }
        let app = try mux.registerApp(named: name)
        try mux.createRings(for: app.id, presenting: app.binding, slots: slots, slotSize: slotSize)
        apps[name] = app
        return app
    }

    /// Installs `expression` for `app`, with every guard of the other apps' filters delegated to
    /// it (so only ties are refused); nil when refused.
    @discardableResult
    func install(
        _ name: String, app appName: String, _ expression: String, priority: Int = 0, isTap: Bool = false
    )
        throws -> FilterID?
    {
        let app = try app(appName)
        let tree = try RandomFilterSets.tree(expression, linkType: mux.configuration.linkType)
        var presented: [CapabilityHandle] = []
        for (_, holder) in guards where holder.app != app.id {
            presented.append(try mux.grant(holder.capability, to: app.id, by: holder.app))
        }
        do {
            let installed = try mux.install(
                FilterRequest(name: name, tree: tree, priority: priority, isTap: isTap), for: app.id,
                presenting: app.binding, guards: presented)
            guards[installed.id] = (app.id, installed.guardCapability)
            oracleTrees[name] = tree
            oraclePriorities[name] = priority
            filterIDs[name] = installed.id
            return installed.id
        } catch .filter {
            return nil
        }
    }

    func remove(_ name: String) throws {
        let id = filterIDs[name]!
        try mux.remove(id, by: guards[id]!.app, presenting: guards[id]!.capability)
        guards[id] = nil
        filterIDs[name] = nil
    }

    /// One consumer per ring of every app, in app-name order then worker order.
    func consumers() throws -> [(app: String, consumer: RingConsumer)] {
        try apps.keys.sorted().flatMap { name in
            let app = apps[name]!
            return try ringFirstPages(app).map {
                (name, try RingConsumer(core: mux.memory, app: app.id, firstPage: $0))
            }
        }
    }

    /// Where each of the app's rings starts (rings are laid out back to back from page 0).
    func ringFirstPages(_ app: MuxApp) throws -> [UInt32] {
        var pages: [UInt32] = []
        var page: UInt32 = 0
        for _ in 0..<mux.configuration.workers {
            pages.append(page)
            let consumer = try RingConsumer(core: mux.memory, app: app.id, firstPage: page)
            page += UInt32(consumer.layout.pages)
        }
        return pages
    }

    /// Every packet in every ring of every app, drained: (app, tag, bytes), per app in ring order.
    func drain() throws -> [String: [(tag: UInt64, bytes: [UInt8])]] {
        var received: [String: [(tag: UInt64, bytes: [UInt8])]] = [:]
        for (app, var consumer) in try consumers() {
            while let packet = consumer.next() {
                received[app, default: []].append((packet.tag, Array(packet.bytes)))
                consumer.release()
            }
        }
        return received
    }

    /// The reference verdicts for `packets` under the filters installed now, as (owner app, tap apps).
    func expected(_ packets: [[UInt8]]) -> [(owner: String?, taps: Set<String>)] {
        let trie = DecisionTrie(linkType: mux.configuration.linkType)
        let installed = mux.installedFilters
        let all = Set(installed.map(\.id))
        var renumbered: [FilterID: String] = [:]
        for filter in installed {
            let tree = oracleTrees[filter.name]!
            let id = try! trie.insert(
                name: filter.name, app: filter.app, priority: oraclePriorities[filter.name] ?? 0,
                isTap: filter.isTap, tree: tree, authorizedOver: Set(trie.installed.map(\.id)).union(all))
            renumbered[id] = filter.app
        }
        let delivery = ReferenceDelivery(trie)
        let minimum = mux.configuration.linkType.layout.networkOffset(vlanDepth: 0)
        return packets.map { bytes in
            // The multiplexer refuses packets shorter than their link header (malformed).
            if mux.configuration.linkType == .ethernet, bytes.count < minimum { return (nil, []) }
            let verdict = bytes.withUnsafeBytes { delivery.verdict($0) }
            return (verdict.owner.map { renumbered[$0]! }, Set(verdict.taps.map { renumbered[$0]! }))
        }
    }

    var oracleTrees: [String: FilterTree] = [:]
    var oraclePriorities: [String: Int] = [:]
}
