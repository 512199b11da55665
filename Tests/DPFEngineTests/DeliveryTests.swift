import DPFAnalysis
import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// The delivery layer's counting, the batches it reads and writes, and the stable filter ids its
/// verdicts carry across program generations.
@Suite struct DeliveryTests {
    static func trie(_ text: String) throws -> DecisionTrie {
        let file = try Parser.parseFile(SourceFile(name: "t.dpf", text: text))
        let (trie, errors) = TrieBuilder.build(try SemanticAnalyzer.analyze([file]).filterSet)
        try #require(errors.isEmpty, "\(errors)")
        return trie
    }

    static let filters = """
        app dns {
            udp.dport == 53
        }
        app web {
            tcp.dport == 80
        }
        app mon tap {
            all: ip4
            udp: udp
        }
        """

    static func udp(_ port: UInt16) -> [UInt8] {
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
            .udp(sourcePort: 1, destinationPort: port).bytes
    }

    static func tcp(_ port: UInt16) -> [UInt8] {
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
            .tcp(sourcePort: 1, destinationPort: port).bytes
    }

    @Test(arguments: EngineKind.allCases)
    func countsOwnersOncePerPacketAndTapsOncePerApp(kind: EngineKind) throws {
        let engine = try kind.make(try DeliveryTests.trie(DeliveryTests.filters))
        let packets = [
            DeliveryTests.udp(53), DeliveryTests.tcp(80), DeliveryTests.udp(99), DeliveryTests.tcp(7),
        ]
        // A batch smaller than the packets, so delivery runs the engine several times.
        let delivery = Delivery(engine, batchCapacity: 3)
        var sequences: [Int] = []
        delivery.deliver(PacketBatch(packets)) { sequences.append($0.sequence) }
        delivery.deliver(PacketBatch([DeliveryTests.udp(53)])) { sequences.append($0.sequence) }
        #expect(sequences == [0, 1, 2, 3, 4])
        #expect(delivery.packets == 5)
        #expect(delivery.unmatched == 2)
        let apps = Dictionary(
            uniqueKeysWithValues: zip(delivery.filters.apps.map(\.name), delivery.apps.map(\.packets)))
        // mon taps every packet (all four are IPv4) once, although its two filters both match UDP.
        #expect(apps == ["dns": 2, "web": 1, "mon": 5])
        let filters = Dictionary(
            uniqueKeysWithValues: zip(delivery.filters.filters.map(\.name), delivery.perFilter.map(\.packets))
        )
        #expect(filters == ["dns.1": 2, "web.1": 1, "mon.all": 5, "mon.udp": 3])
        let bytes = delivery.apps[delivery.filters.apps.firstIndex { $0.name == "web" }!].bytes
        #expect(bytes == DeliveryTests.tcp(80).count)
    }

    /// With tap room for one worst case, every packet with taps ends a run; the delivery layer
    /// carries on from there and loses nothing.
    @Test(arguments: EngineKind.allCases)
    func aRunStopsWhereTapRoomEndsAndResumes(kind: EngineKind) throws {
        let engine = try kind.make(try DeliveryTests.trie(DeliveryTests.filters))
        let packets = (0..<50).map { $0 % 3 == 0 ? DeliveryTests.udp(53) : DeliveryTests.tcp(80) }
        let batch = PacketBatch(packets)
        let verdicts = VerdictBatch(packets: 64, filters: engine.filters.count)
        let ran = engine.run(batch.views, into: verdicts)
        #expect(ran >= 1 && ran < packets.count)
        #expect(verdicts.count == ran)
        let delivery = Delivery(engine, batchCapacity: 64)
        delivery.deliver(batch)
        #expect(delivery.packets == 50)
        #expect(delivery.unmatched == 0)
    }

    @Test func aBatchGrowsAndIsReusedWithoutMovingItsPackets() {
        let batch = PacketBatch(capacity: 4, byteCapacity: 8)
        let packets: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 100), [9]]
        for packet in packets { #expect(packet.withUnsafeBytes { batch.append($0) }) }
        #expect(batch.isFull)
        #expect(![UInt8(0)].withUnsafeBytes { batch.append($0) })
        #expect(batch.views.map { Array($0) } == packets)
        batch.removeAll()
        #expect(batch.count == 0)
        #expect([UInt8(5), 6].withUnsafeBytes { batch.append($0) })
        #expect(batch.views.map { Array($0) } == [[5, 6]])
    }
}

/// Filter ids are stable: never reused, carried by every program generation, so one verdict
/// means one filter whichever program gave it.
@Suite struct FilterIdentityTests {
    @Test func idsAreNeverReusedAndProgramsCarryThem() throws {
        let trie = DecisionTrie()
        let tree = { (port: UInt32) in
            try FilterTree.atom(Atom(base: .packetStart, offset: 36, width: 2, relation: .equal, value: port))
        }
        try trie.insert(name: "a", app: "a", tree: tree(1))
        try trie.insert(name: "b", app: "b", tree: tree(2))
        let firstB = try #require(trie.id(named: "b"))
        let before = try Compiler.compile(trie)
        try trie.remove(named: "a")
        try trie.insert(name: "c", app: "c", tree: tree(3))
        let c = try #require(trie.id(named: "c"))
        #expect(c > firstB, "a new filter gets a new id, not the removed one's")
        #expect(trie.id(named: "b") == firstB)
        let after = try Compiler.compile(trie)
        // Program numbers shift (b was 1, is now 0); the ids they carry do not.
        #expect(before.program.filters.map(\.id) == [0, firstB.rawValue])
        #expect(after.program.filters.map(\.id) == [firstB.rawValue, c.rawValue])
        var packet = [UInt8](repeating: 0, count: 40)
        packet[37] = 2
        for program in [before, after] {
            #expect(ProgramVerdicts(Interpreter(program)).verdict(packet).owner == firstB)
        }
        #expect(trie.verdict(bytes: packet).owner == firstB)
    }

    @Test func theVerifierRefusesIdsOutOfInstallOrder() throws {
        var program = try Assembler.assemble(
            """
            program registers 1 link 1
            filter 0 id 4 "a" app "a" priority 0
            filter 1 id 9 "b" app "b" priority 0
            0000  halt
            """)
        _ = try Verifier.verify(program)
        program.filters[1].id = 4
        #expect(throws: VerifierError.self) { try Verifier.verify(program) }
        program.filters[1].id = 3
        let error = try #require(throws: VerifierError.self) { try Verifier.verify(program) }
        #expect(error.kind == .badFilterID)
    }

    @Test func theTrieRefusesRanksTheDeliveryKeyCannotHold() throws {
        let trie = DecisionTrie()
        let tree = try FilterTree.atom(
            Atom(base: .packetStart, offset: 12, width: 2, relation: .equal, value: 1))
        for priority in [-1, 65_536, .max] {
            let error = try #require(throws: TrieError.self) {
                try trie.insert(name: "p\(priority)", app: "a", priority: priority, tree: tree)
            }
            #expect(error.kind == .invalidFilter)
        }
        try trie.insert(name: "top", app: "a", priority: 65_535, tree: tree)
    }

    @Test func deliveryKeysOrderByPriorityThenSpecificityThenInstallOrder() {
        let key = { (priority: UInt16, specificity: UInt16, order: UInt32) in
            DeliveryKey(priority: priority, specificity: specificity, order: order)
        }
        #expect(key(1, 0, 9) > key(0, 999, 0))
        #expect(key(0, 17, 9) > key(0, 16, 0))
        #expect(key(0, 16, 0) > key(0, 16, 1))
        #expect(key(0, 0, DeliveryKey.maximumOrder) > .none)
        let packed = key(7, 300, 12)
        #expect((packed.priority, packed.specificity, packed.order) == (7, 300, 12))
    }
}
