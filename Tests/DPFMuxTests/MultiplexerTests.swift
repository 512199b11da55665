import DPFEngine
import DPFFilter
import DPFMemory
import DPFMux
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

@Suite struct MultiplexerTests {
    static let filters: [(name: String, app: String, expression: String, priority: Int, isTap: Bool)] = [
        ("web", "web", "tcp.dport == 80", 0, false),
        ("tls", "web", "tcp.dport == 443", 0, false),
        ("dns", "dns", "udp.dport == 53", 0, false),
        ("ssh", "admin", "tcp.dport == 22", 1, false),
        ("vlan", "lab", "vlan.id == 100", 2, false),
        ("watch", "monitor", "ip4.src == 10.0.0.1", 0, true),
        ("all-tcp", "audit", "tcp", 0, true),
    ]

    func harness(workers: Int = 1, engine: EngineKind = .bytecode) throws -> MuxHarness {
        let harness = try MuxHarness(workers: workers, engine: engine)
        for filter in MultiplexerTests.filters {
            #expect(
                try harness.install(
                    filter.name, app: filter.app, filter.expression, priority: filter.priority,
                    isTap: filter.isTap)
                    != nil, "\(filter.name) refused")
        }
        return harness
    }

    static func packets(seed: UInt64, count: Int) -> [[UInt8]] {
        var random = RandomPackets(seed: seed)
        return random.batch(count).map(\.bytes)
    }

    /// Every ring holds exactly the packets the reference evaluator gives its app, in order, tagged
    /// with a filter of that app; the counters balance and match the rings.
    @Test(arguments: [EngineKind.bytecode, .trie, .reference])
    func ringsHoldWhatTheReferenceEvaluatorDelivers(engine: EngineKind) throws {
        let harness = try harness(engine: engine)
        let packets = MultiplexerTests.packets(seed: 7, count: 400)
        let result = try harness.mux.run(InMemorySource(packets))
        #expect(result.packets == packets.count && result.failure == nil)
        let received = try harness.drain()
        let expected = harness.expected(packets)
        for app in harness.apps.keys.sorted() {
            let wanted = zip(packets, expected).filter { $1.owner == app || $1.taps.contains(app) }.map(\.0)
            #expect((received[app] ?? []).map(\.bytes) == wanted, "app \(app)")
        }
        let statistics = harness.mux.statistics()
        #expect(statistics.isBalanced)
        #expect(statistics.received == UInt64(packets.count))
        #expect(statistics.dropped == 0 && statistics.cancelled == 0)
        #expect(statistics.delivered == UInt64(expected.filter { $0.owner != nil }.count))
        for app in statistics.apps {
            #expect(app.counters.delivered == UInt64(received[app.name]?.count ?? 0), "app \(app.name)")
        }
        // Tags name a filter of the app that received the packet.
        let appOfFilter = Dictionary(
            uniqueKeysWithValues: harness.mux.installedFilters.map { ($0.id.rawValue, $0.app) })
        for (app, packets) in received {
            for packet in packets { #expect(appOfFilter[UInt32(packet.tag)] == app) }
        }
    }

    /// One worker, large rings: the counts are the delivery layer's, packet for packet.
    @Test func countsEqualTheDeliveryLayers() throws {
        let harness = try harness()
        let packets = MultiplexerTests.packets(seed: 11, count: 300).filter { $0.count >= 14 }
        _ = try harness.mux.run(InMemorySource(packets))
        let trie = DecisionTrie()
        for filter in MultiplexerTests.filters {
            try trie.insert(
                name: filter.name, app: filter.app, priority: filter.priority, isTap: filter.isTap,
                tree: try RandomFilterSets.tree(filter.expression),
                authorizedOver: Set(trie.installed.map(\.id)))
        }
        let delivery = Delivery(try EngineKind.bytecode.make(trie))
        delivery.deliver(PacketBatch(packets))
        let statistics = harness.mux.statistics()
        #expect(statistics.unmatched == UInt64(delivery.unmatched))
        for (index, app) in delivery.filters.apps.enumerated() {
            let counted = statistics.apps.first { $0.name == app.name }!.counters
            #expect(counted.delivered == UInt64(delivery.apps[index].packets), "app \(app.name)")
            #expect(counted.bytes == UInt64(delivery.apps[index].bytes), "app \(app.name)")
        }
    }
}

@Suite struct BatchedChangesTests {
    /// Changes inside `withChangesBatched` publish one snapshot at the end, and it has them all.
    @Test func aBatchPublishesOneSnapshot() throws {
        let harness = try MuxHarness()
        try harness.install("first", app: "a", "tcp.dport == 1")
        let before = harness.mux.generation
        try harness.mux.withChangesBatched { () throws(MuxError) in
            for port in 2...50 {
                do {
                    try harness.install("p\(port)", app: "app\(port % 7)", "tcp.dport == \(port)")
                } catch let error as MuxError {
                    throw error
                } catch {
                    Issue.record("\(error)")
                }
                // Nothing takes effect until the batch ends.
                #expect(harness.mux.generation == before)
            }
        }
        #expect(harness.mux.generation == before + 1)
        #expect(harness.mux.installedFilters.count == 50)
        let packets = (1...50).map { port in
            PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
                .tcp(sourcePort: 999, destinationPort: UInt16(port)).bytes
        }
        _ = try harness.mux.run(InMemorySource(packets))
        let statistics = harness.mux.statistics()
        #expect(statistics.delivered == 50 && statistics.unmatched == 0 && statistics.isBalanced)
    }

    /// A batch whose body throws still publishes what it changed before the error.
    @Test func aFailingBatchStillPublishesItsChanges() throws {
        let harness = try MuxHarness()
        let app = try harness.app("a")
        let tree = try RandomFilterSets.tree("udp.dport == 53")
        let before = harness.mux.generation
        #expect(throws: MuxError.self) {
            try harness.mux.withChangesBatched { () throws(MuxError) in
                _ = try harness.mux.install(
                    FilterRequest(name: "dns", tree: tree), for: app.id, presenting: app.binding)
                _ = try harness.mux.install(
                    FilterRequest(name: "dns", tree: tree), for: app.id, presenting: app.binding)
            }
        }
        #expect(harness.mux.installedFilters.map(\.name) == ["dns"])
        #expect(harness.mux.generation == before + 1)
    }
}

@Suite struct ProducerPositionTests {
    /// Positions are published lazily while packets flow, and every ring's is exact when a run ends.
    @Test(arguments: [1, 2])
    func everyRingsPositionIsPublishedWhenARunEnds(workers: Int) throws {
        let harness = try MuxHarness(workers: workers)
        try harness.install("web", app: "web", "tcp")
        try harness.install("dns", app: "dns", "udp")
        var random = RandomPackets(seed: 5)
        _ = try harness.mux.run(InMemorySource(random.batch(700).map(\.bytes)))
        let statistics = harness.mux.statistics()
        let consumers = try harness.consumers()
        for app in statistics.apps {
            let positions = consumers.filter { $0.app == app.name }.map(\.consumer.producerPosition)
            #expect(positions.count == workers)
            #expect(positions.reduce(0, +) == app.counters.delivered, "app \(app.name)")
        }
        #expect(statistics.delivered > 0)
    }
}
