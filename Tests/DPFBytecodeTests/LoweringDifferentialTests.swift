import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import DPFWorkloads
import Foundation
import Testing

/// The interpreter running the lowered program gives exactly the trie walker's verdict (which the
/// trie tests tie to the reference evaluator), on random filter sets and random packets.
@Suite struct LoweringDifferentialTests {
    static func trie(_ entries: [RandomFilterSets.Entry]) -> DecisionTrie {
        let trie = DecisionTrie()
        var granted: Set<FilterID> = []
        for entry in entries {
            if let id = try? trie.insert(
                name: entry.name, app: entry.app, priority: entry.priority, isTap: entry.isTap,
                tree: entry.tree, authorizedOver: granted)
            {
                granted.insert(id)
            }
        }
        return trie
    }

    @Test(arguments: [(31, 30), (32, 300), (33, 2000)] as [(UInt64, Int)])
    func interpreterAgreesWithTheTrieWalker(seed: UInt64, count: Int) throws {
        let trie = LoweringDifferentialTests.trie(try RandomFilterSets.make(seed: seed, count: count))
        let interpreter = Interpreter(try Verifier.verify(try Lowering.lower(trie)))
        let verdicts = ProgramVerdicts(interpreter)
        var packets = RandomPackets(seed: seed &+ 7)
        var owned = 0
        for packet in packets.batch(1500) {
            let walked = trie.verdict(for: packet)
            let ran = verdicts.verdict(packet.bytes)
            #expect(ran == walked, "\(walked) vs \(ran)")
            if ran != walked { return }
            if ran.owner != nil { owned += 1 }
        }
        #expect(owned > 0)
    }

    @Test func densePortFiltersShareOneDirectTable() throws {
        let trie = DecisionTrie()
        for port in 0..<1000 {
            try trie.insert(
                name: "p\(port)", app: "a\(port)", tree: RandomFilterSets.tree("tcp.dport == \(1024 + port)"))
        }
        let program = try Lowering.lower(trie)
        _ = try Verifier.verify(program)
        // The IPv4 and IPv6 dispatches share one direct table of all 1,000 ports, each entry
        // accepting its filter without another instruction.
        let portTables = program.tables.filter { $0.entries.count == 1000 }
        #expect(portTables.count == 1)
        #expect(portTables.allSatisfy { $0.layout == .direct && $0.capacity == 1000 })
        #expect(portTables.first?.entries.allSatisfy { DispatchTable.isTerminal($0.target) } == true)
        let portTable = UInt32(program.tables.firstIndex { $0.entries.count == 1000 } ?? Int(UInt32.max))
        #expect(program.instructions.filter { $0.opcode == .dispatch && $0.value == portTable }.count == 2)
        #expect(program.registerCount == 2)
    }

    /// The fragment-offset test and the protocol dispatch under IPv4 coalesce into one 32-bit
    /// load; on every truncation of a TCP and a UDP packet the program still agrees with the trie.
    @Test func fragmentAndProtocolCoalesceWithoutChangingTruncatedVerdicts() throws {
        let trie = DecisionTrie()
        try trie.insert(name: "web", app: "web", tree: RandomFilterSets.tree("tcp.dport == 80"))
        try trie.insert(name: "dns", app: "dns", tree: RandomFilterSets.tree("udp.dport == 53"))
        let program = try Lowering.lower(trie)
        let wide = program.instructions.filter { $0.opcode == .dispatch && $0.width == 4 && $0.offset == 20 }
        #expect(wide.map(\.mask) == [0x1FFF_00FF])
        #expect(!program.instructions.contains { $0.width == 2 && $0.offset == 20 })
        let interpreter = Interpreter(try Verifier.verify(program))
        let verdicts = ProgramVerdicts(interpreter)
        let ip = PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2))
        for packet in [
            ip.tcp(sourcePort: 1, destinationPort: 80).bytes,
            ip.udp(sourcePort: 1, destinationPort: 53).bytes,
        ] {
            for length in 0...packet.count {
                let cut = Array(packet.prefix(length))
                #expect(
                    verdicts.verdict(cut) == trie.verdict(for: Packet(bytes: cut)),
                    "length \(length)")
            }
        }
    }

    @Test func sparsePortFiltersShareOneHashedTable() throws {
        let trie = DecisionTrie()
        var generator = SeededGenerator(seed: 12)
        var ports = Set<UInt16>()
        while ports.count < 500 { ports.insert(.random(in: 1...UInt16.max, using: &generator)) }
        for port in ports.sorted() {
            try trie.insert(
                name: "p\(port)", app: "a\(port)", tree: RandomFilterSets.tree("udp.dport == \(port)"))
        }
        let program = try Lowering.lower(trie)
        let interpreter = Interpreter(try Verifier.verify(program))
        let verdicts = ProgramVerdicts(interpreter)
        let portTables = program.tables.filter { $0.entries.count == 500 }
        #expect(portTables.count == 1)
        #expect(portTables.first?.isHashed == true)
        for port in ports.sorted().prefix(50) {
            let packet = PacketBuilder.ethernet().ipv4(
                src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 0, 0, 2)
            )
            .udp(sourcePort: 9, destinationPort: port).bytes
            #expect(verdicts.verdict(packet).owner == trie.id(named: "p\(port)"))
        }
    }
}

/// The batch entry point gives every packet the verdict a single run gives, and stops where the
/// tap buffer runs short so the caller can continue.
@Suite struct BatchRunTests {
    @Test func aBatchRunEqualsOneRunPerPacketAndResumesWhenTapRoomRunsOut() throws {
        let trie = LoweringDifferentialTests.trie(try RandomFilterSets.make(seed: 61, count: 300))
        let interpreter = Interpreter(try Verifier.verify(try Lowering.lower(trie)))
        var generator = RandomPackets(seed: 62)
        let packets = generator.batch(600).map(\.bytes)
        let batch = PacketBatch(packets)
        var owners = [Int32](repeating: -2, count: packets.count)
        var tapEnds = [Int32](repeating: 0, count: packets.count)
        // Room for one worst case only: every packet with a tap ends a call.
        var taps = [Int32](repeating: 0, count: interpreter.filterCount)
        var done = 0
        var calls = 0
        var found: [(owner: UInt32?, taps: [UInt32])] = []
        while done < packets.count {
            let ran = owners.withUnsafeMutableBufferPointer { owners in
                tapEnds.withUnsafeMutableBufferPointer { tapEnds in
                    taps.withUnsafeMutableBufferPointer { taps in
                        interpreter.run(
                            batch: UnsafeBufferPointer(rebasing: batch.views[done...]),
                            owners: UnsafeMutableBufferPointer(rebasing: owners[done...]),
                            tapEnds: UnsafeMutableBufferPointer(rebasing: tapEnds[done...]), taps: taps)
                    }
                }
            }
            #expect(ran > 0)
            guard ran > 0 else { return }
            for index in done..<(done + ran) {
                let start = index == done ? 0 : Int(tapEnds[index - 1])
                found.append(
                    (
                        owners[index] >= 0 ? UInt32(owners[index]) : nil,
                        taps[start..<Int(tapEnds[index])].map { UInt32($0) }.sorted()
                    ))
            }
            done += ran
            calls += 1
        }
        #expect(calls > 1)
        for (index, packet) in packets.enumerated() {
            let single = interpreter.run(packet)
            #expect(found[index].owner == single.owner && found[index].taps == single.taps, "packet \(index)")
        }
        #expect(found.contains { !$0.taps.isEmpty } && found.contains { $0.owner != nil })
    }

    @Test func anEmptyBatchRunsNothing() throws {
        let trie = LoweringDifferentialTests.trie(try RandomFilterSets.make(seed: 63, count: 20))
        let interpreter = Interpreter(try Verifier.verify(try Lowering.lower(trie)))
        let ran = interpreter.run(
            batch: UnsafeBufferPointer(start: nil, count: 0),
            owners: UnsafeMutableBufferPointer(start: nil, count: 0),
            tapEnds: UnsafeMutableBufferPointer(start: nil, count: 0),
            taps: UnsafeMutableBufferPointer(start: nil, count: 0))
        #expect(ran == 0)
    }
}

/// Lowering walks the trie with a work stack, not by recursion: a chain of thousands of
/// conjuncts (one trie level each) lowers on a thread with a small stack, in linear time.
@Suite struct DeepTrieLoweringTests {
    /// Runs `body` on a thread with a stack of `stackSize` bytes and waits for it.
    static func onSmallStack(_ stackSize: Int, _ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
    }

    final class Box: @unchecked Sendable {
        var program: Result<Program, LoweringError>?
    }

    @Test func aChainOfThousandsOfConjunctsLowersOnASmallStack() throws {
        let depth = 1500
        let tree = FilterTree.and(
            try (0..<depth).map { .atom(try Atom(offset: $0, width: 1, relation: .notEqual, value: 7)) })
        let trie = DecisionTrie()
        try trie.insert(name: "chain", app: "chain", tree: tree)
        let box = Box()
        nonisolated(unsafe) let shared = trie
        DeepTrieLoweringTests.onSmallStack(256 << 10) {
            box.program = Result { () throws(LoweringError) in try Lowering.lower(shared) }
        }
        let program = try #require(try box.program?.get())
        #expect(program.instructions.count > depth)
        let interpreter = Interpreter(try Verifier.verify(program))
        #expect(interpreter.run([UInt8](repeating: 0, count: depth)).owner == 0)
        #expect(interpreter.run([UInt8](repeating: 0, count: depth - 1)).owner == nil)
        #expect(interpreter.run([UInt8](repeating: 7, count: depth)).owner == nil)
    }
}
