import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire

/// The `ports` workload: N apps, app i binding `tcp.dport == 1024+i` (even i) or
/// `udp.dport == 1024+i` (odd i); a packet stream of TCP and UDP over IPv4 and IPv6 in which
/// `hitRatio` of the packets go to an installed port (the rest to ports nobody binds).
public struct PortsWorkload: Sendable {
    public struct App: Sendable {
        public let name: String
        public let isTCP: Bool
        public let port: UInt16
        public let tree: FilterTree

        /// The app's one filter's name in the trie.
        public var filterName: String { "\(name).1" }
        public var dpf: String { App.dpf(isTCP: isTCP, port: port) }
        static func dpf(isTCP: Bool, port: UInt16) -> String { "\(isTCP ? "tcp" : "udp").dport == \(port)" }
        public var pcap: String { "\(isTCP ? "tcp" : "udp") dst port \(port)" }
    }

    public static let firstPort: UInt16 = 1024
    public static let hitRatio = 0.5

    public let apps: [App]
    public let packets: [[UInt8]]

    public init(filters count: Int, packets packetCount: Int = 4096, seed: UInt64 = 1) throws {
        apps = try (0..<count).map { index in
            let isTCP = index % 2 == 0
            let port = PortsWorkload.firstPort + UInt16(index)
            let text = App.dpf(isTCP: isTCP, port: port)
            let source = SourceFile(name: "ports", text: text)
            let tree = try SemanticAnalyzer.analyzeExpression(Parser.parseExpression(source), in: source)
            return App(name: "app\(index)", isTCP: isTCP, port: port, tree: tree)
        }
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let apps = self.apps
        packets = (0..<packetCount).map { _ in
            let hit = Double(next() % 1000) / 1000 < PortsWorkload.hitRatio
            let app = apps[Int(next() % UInt64(apps.count))]
            // A miss uses a port above every installed one, with a random protocol.
            let port = hit ? app.port : PortsWorkload.firstPort + UInt16(apps.count) + UInt16(next() % 1000)
            let isTCP = hit ? app.isTCP : next() % 2 == 0
            var builder = PacketBuilder.ethernet()
            if next() % 4 == 0 {
                builder = builder.ipv6(src: IPv6Address("2001:db8::1")!, dst: IPv6Address("2001:db8::2")!)
            } else {
                builder = builder.ipv4(src: IPv4Address(192, 0, 2, 1), dst: IPv4Address(10, 0, 0, 2))
            }
            builder =
                isTCP
                ? builder.tcp(sourcePort: 40_000, destinationPort: port)
                : builder.udp(sourcePort: 40_000, destinationPort: port)
            return builder.payload(Array(repeating: 0, count: 18)).bytes
        }
    }

    /// Every app's filter installed, in app order, in a new trie.
    public func trie() throws -> DecisionTrie {
        let trie = DecisionTrie()
        for app in apps { try trie.insert(name: app.filterName, app: app.name, tree: app.tree) }
        return trie
    }
}
