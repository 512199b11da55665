import ArgumentParser
import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFFilter
import DPFTrie
import DPFWire
import Foundation

/// `dpf replay CAPTURE --filters FILE.dpf... | --program OUT.dpfc [--engine ...] [--json]`: reads a
/// capture with libpcap and demultiplexes every packet in memory, counting what each app gets.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Demultiplex a capture file through filters (or a compiled .dpfc program) and count deliveries."
    )

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case reference, trie, bytecode
    }

    @Argument(help: "A pcap or pcapng capture.")
    var capture: String

    @Option(name: .customLong("filters"), parsing: .upToNextOption, help: "Filter files (.dpf).")
    var filterFiles: [String] = []

    @Option(help: "A compiled program (dpf compile -o); runs without the compiler.")
    var program: String?

    @Option(help: "Engine: reference, trie or bytecode (default bytecode).")
    var engine: Engine?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if program == nil && filterFiles.isEmpty {
            throw ValidationError("give --filters FILE.dpf... or --program FILE.dpfc")
        }
        if program != nil && !filterFiles.isEmpty {
            throw ValidationError("give either --filters or --program, not both")
        }
        if program != nil, let engine, engine != .bytecode {
            throw ValidationError("a compiled program runs only on the bytecode engine")
        }
    }

    struct Tally {
        var delivered = 0
        var bytes = 0
    }

    func run() throws {
        let reader: LibpcapReader
        do {
            reader = try LibpcapReader(path: capture)
        } catch {
            throw CommandFailure(.badInput, "cannot read capture: \(error.message)")
        }
        guard let linkType = reader.linkType else {
            throw CommandFailure(
                .badInput, "\(capture): link type \(reader.dataLinkType) is not one DPF demultiplexes")
        }
        let demux = try makeDemultiplexer(linkType: linkType)
        var tallies: [String: Tally] = [:]
        var packets = 0
        var unmatched = 0
        var failure: CaptureError?
        while true {
            let packet: Packet?
            do {
                packet = try reader.nextPacket()
            } catch {
                failure = error
                break
            }
            guard let packet else { break }
            packets += 1
            let (owner, taps) = demux.deliver(packet)
            if let owner { tallies[owner, default: Tally()].delivered += 1 } else { unmatched += 1 }
            if let owner { tallies[owner, default: Tally()].bytes += packet.capturedLength }
            for tap in taps {
                tallies[tap, default: Tally()].delivered += 1
                tallies[tap, default: Tally()].bytes += packet.capturedLength
            }
        }
        report(
            demux.apps, tallies: tallies, packets: packets, unmatched: unmatched,
            malformed: failure == nil ? 0 : 1)
        if let failure { throw CommandFailure(.badInput, failure.message) }
    }

    /// Maps a packet to the owning app and the tapping apps.
    struct Demultiplexer {
        let apps: [(name: String, isTap: Bool)]
        let deliver: (Packet) -> (owner: String?, taps: [String])
    }

    private func makeDemultiplexer(linkType: LinkType) throws -> Demultiplexer {
        if let program {
            let bytes: [UInt8]
            do {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: program)))
            } catch {
                throw CommandFailure(.badInput, "cannot read \(program): \(error.localizedDescription)")
            }
            let decoded: Program
            let verified: VerifiedProgram
            do {
                decoded = try ProgramFile.decode(bytes)
                verified = try Verifier.verify(decoded)
            } catch let error as ProgramFileError {
                throw CommandFailure(.badInput, "\(program): \(error.message)")
            } catch {
                throw CommandFailure(.badInput, "\(program): the verifier refuses it: \(error)")
            }
            guard decoded.linkType == linkType.rawValue else {
                throw CommandFailure(
                    .badInput,
                    "\(program) was compiled for link type \(decoded.linkType), but \(capture) has \(linkType.rawValue) (\(linkType.name))"
                )
            }
            return bytecode(Interpreter(verified))
        }
        let set = try FilterLoader.analyze(filterFiles, linkType: linkType)
        let trie = try FilterLoader.buildTrie(set)
        switch engine ?? .bytecode {
        case .bytecode:
            return bytecode(Interpreter(try FilterLoader.compile(trie)))
        case .trie:
            return trieDemultiplexer(trie) { trie.verdict(for: $0) }
        case .reference:
            let reference = ReferenceDelivery(trie)
            return trieDemultiplexer(trie) { reference.verdict(for: $0) }
        }
    }

    private func bytecode(_ interpreter: Interpreter) -> Demultiplexer {
        let program = interpreter.verified.program
        var seen = Set<String>()
        var apps: [(String, Bool)] = []
        for filter in program.filters where seen.insert(filter.app).inserted {
            apps.append((filter.app, filter.isTap))
        }
        return Demultiplexer(apps: apps) { packet in
            let result = interpreter.run(packet.bytes)
            return (
                result.owner.map { program.filters[Int($0)].app },
                Array(Set(result.taps.map { program.filters[Int($0)].app })).sorted()
            )
        }
    }

    private func trieDemultiplexer(_ trie: DecisionTrie, _ verdict: @escaping (Packet) -> Verdict)
        -> Demultiplexer
    {
        var seen = Set<String>()
        var apps: [(String, Bool)] = []
        for (_, filter) in trie.installed where seen.insert(filter.app).inserted {
            apps.append((filter.app, filter.isTap))
        }
        return Demultiplexer(apps: apps) { packet in
            let result = verdict(packet)
            let app = { (id: FilterID) in trie.filter(id)!.app }
            return (result.owner.map(app), Array(Set(result.taps.map(app))).sorted())
        }
    }

    private func report(
        _ apps: [(name: String, isTap: Bool)], tallies: [String: Tally], packets: Int, unmatched: Int,
        malformed: Int
    ) {
        let console = Console.current
        if json {
            let rows = apps.map { app in
                let tally = tallies[app.name] ?? Tally()
                return JSONValue.object([
                    ("name", .string(app.name)), ("tap", .bool(app.isTap)),
                    ("delivered", .int(tally.delivered)), ("dropped", .int(0)),
                    ("bytes", .int(tally.bytes)),
                ])
            }
            console.out(
                JSONValue.object([
                    ("packets", .int(packets)), ("unmatched", .int(unmatched)),
                    ("malformed", .int(malformed)), ("apps", .array(rows)),
                ]).serialized())
            return
        }
        console.out("\(packets) packets, \(unmatched) unmatched, \(malformed) malformed")
        for app in apps {
            let tally = tallies[app.name] ?? Tally()
            let role = app.isTap ? "tap" : "owner"
            console.out("  \(app.name)  \(role)  \(tally.delivered) packets  \(tally.bytes) bytes")
        }
    }
}
