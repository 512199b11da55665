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

    @Option(help: "Engine: reference, trie or bytecode.")
    var engine: Engine = .bytecode

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        if program == nil && filterFiles.isEmpty {
            throw ValidationError("give --filters FILE.dpf... or --program FILE.dpfc")
        }
        if program != nil && !filterFiles.isEmpty {
            throw ValidationError("give either --filters or --program, not both")
        }
        if program != nil, engine != .bytecode {
            throw ValidationError("a compiled program runs only on the bytecode engine")
        }
    }

    struct Tally {
        var delivered = 0
        var bytes = 0

        mutating func count(_ packet: Packet) {
            delivered += 1
            bytes += packet.capturedLength
        }
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
        var tallies = [Tally](repeating: Tally(), count: demux.apps.count)
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
            if let owner { tallies[owner].count(packet) } else { unmatched += 1 }
            for tap in taps { tallies[tap].count(packet) }
        }
        report(
            demux.apps, tallies: tallies, packets: packets, unmatched: unmatched,
            malformed: failure == nil ? 0 : 1)
        if let failure { throw CommandFailure(.badInput, failure.message) }
    }

    /// Maps a packet to the owning app and the tapping apps, each once, as indices into `apps`.
    struct Demultiplexer {
        let apps: [(name: String, isTap: Bool)]
        let deliver: (Packet) -> (owner: Int?, taps: [Int])

        /// Apps in order of their first filter, and each filter's app.
        static func apps(of filters: [(app: String, isTap: Bool)]) -> (
            apps: [(name: String, isTap: Bool)], appOfFilter: [Int]
        ) {
            var index: [String: Int] = [:]
            var apps: [(name: String, isTap: Bool)] = []
            let appOfFilter = filters.map { filter in
                if let known = index[filter.app] { return known }
                index[filter.app] = apps.count
                apps.append((filter.app, filter.isTap))
                return apps.count - 1
            }
            return (apps, appOfFilter)
        }

        /// Tap filters' apps without repeats (an app may tap through several filters).
        static func distinct(_ apps: some Sequence<Int>) -> [Int] {
            var seen: [Int] = []
            for app in apps where !seen.contains(app) { seen.append(app) }
            return seen
        }
    }

    private func makeDemultiplexer(linkType: LinkType) throws -> Demultiplexer {
        if let program {
            let bytes = try FilterLoader.readBytes(program)
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
        switch engine {
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
        let filters = interpreter.verified.program.filters
        let (apps, appOfFilter) = Demultiplexer.apps(of: filters.map { ($0.app, $0.isTap) })
        // One tap buffer for the whole replay, which the interpreter writes into.
        var taps = [Int32](repeating: 0, count: max(1, filters.count))
        return Demultiplexer(apps: apps) { packet in
            let outcome = packet.bytes.withUnsafeBytes { bytes in
                taps.withUnsafeMutableBufferPointer { interpreter.run(bytes, taps: $0) }
            }
            let tapApps = taps[0..<outcome.tapCount].lazy.map { appOfFilter[Int($0)] }
            return (
                outcome.owner < 0 ? nil : appOfFilter[Int(outcome.owner)], Demultiplexer.distinct(tapApps)
            )
        }
    }

    private func trieDemultiplexer(_ trie: DecisionTrie, _ verdict: @escaping (Packet) -> Verdict)
        -> Demultiplexer
    {
        let installed = trie.installed
        let (apps, appOfFilter) = Demultiplexer.apps(of: installed.map { ($0.1.app, $0.1.isTap) })
        var appOfID: [FilterID: Int] = [:]
        for (position, entry) in installed.enumerated() { appOfID[entry.0] = appOfFilter[position] }
        return Demultiplexer(apps: apps) { packet in
            let result = verdict(packet)
            return (
                result.owner.map { appOfID[$0]! },
                Demultiplexer.distinct(result.taps.lazy.map { appOfID[$0]! })
            )
        }
    }

    private func report(
        _ apps: [(name: String, isTap: Bool)], tallies: [Tally], packets: Int, unmatched: Int,
        malformed: Int
    ) {
        let console = Console.current
        if json {
            let rows = zip(apps, tallies).map { app, tally in
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
        for (app, tally) in zip(apps, tallies) {
            let role = app.isTap ? "tap" : "owner"
            console.out("  \(app.name)  \(role)  \(tally.delivered) packets  \(tally.bytes) bytes")
        }
    }
}
