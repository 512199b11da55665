import DPFFilter
import DPFMux
import DPFWire
import Synchronization
import Testing

/// The README's example of an app using the multiplexer, as written there (plus checks).
@Suite struct ReadmeExampleTests {
    @Test func theReadmeExampleRuns() throws {
        let packets = (0..<300).map { index in
            PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
                .tcp(sourcePort: UInt16(1_024 + index), destinationPort: index % 3 == 0 ? 80 : 443).bytes
        }
        let seen = Mutex(0)

        let mux = try Multiplexer(MuxConfiguration(workers: 2))
        let web = try mux.registerApp(named: "web")
        let rings = try mux.createRings(for: web.id, presenting: web.binding, slots: 1_024)

        var builder = FilterBuilder(linkType: .ethernet)
        let port = FieldTable.field(named: "tcp.dport")!
        let http = try mux.install(
            FilterRequest(
                name: "http", tree: try builder.compare(port, at: builder.locations(of: port), .equal, 80)),
            for: web.id, presenting: web.binding)

        let drainer = RingDrainer(try rings.map { try RingConsumer(core: mux.memory, ring: $0) }) {
            _, packet in
            #expect(packet.tag == UInt64(http.id.rawValue))
            seen.withLock { $0 += 1 }
        }
        #expect(drainer.start())
        let result = try mux.run(InMemorySource(packets))
        let received = drainer.stop()
        let statistics = mux.statistics()
        try mux.remove(http.id, by: web.id, presenting: http.guardCapability)

        #expect(result.packets == 300 && result.failure == nil)
        #expect(received.reduce(0) { $0 + $1.packets } == 100)
        #expect(seen.withLock { $0 } == 100)
        #expect(statistics.isBalanced && statistics.delivered == 100 && statistics.unmatched == 200)
        #expect(mux.installedFilters.isEmpty)
    }
}
