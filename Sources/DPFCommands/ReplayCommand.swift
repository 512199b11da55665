import ArgumentParser
import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFMux
import DPFTrie
import DPFWire
import Foundation

/// `dpf replay CAPTURE --filters FILE.dpf... | --program OUT.dpfc [--workers K] [--ring-size SLOTS]
/// [--engine ...] [--json]`: reads a capture with libpcap and runs every packet through the
/// multiplexer: each app registers, gets rings in its own frames, installs its filters with its
/// capabilities; K workers write each packet into its owner's ring (and copies into matching
/// taps'), while a consumer thread drains the rings as the apps would.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Demultiplex a capture file through filters (or a compiled .dpfc program) into per-app rings and count deliveries.",
        usage: """
            dpf replay CAPTURE --filters FILE.dpf [--filters FILE.dpf ...] [--workers K] [--ring-size SLOTS] [--engine <engine>] [--per-filter] [--json]
            dpf replay CAPTURE --program FILE.dpfc [--workers K] [--ring-size SLOTS] [--json]
            """,
        discussion: """
            Options and the capture may come in any order. --filters takes one file per use, or several \
            separated by commas (--filters web.dpf,dns.dpf).

            Counts: every packet is exactly one of malformed, unmatched, or offered to its owner and then \
            delivered into the owner's ring, dropped (the ring was full) or cancelled (the ring's memory \
            was gone): packets = delivered + dropped + cancelled + unmatched + malformed. 'malformed' \
            packets are records too short for their link-layer header, IP packets on a raw-IP link whose \
            version is wrong for it, or records claiming more captured bytes than the packet had; the \
            multiplexer refuses them before the filters. Tap copies are counted per app and per filter. \
            A capture that breaks off is reported as far as it was read ('stopped' names the record and \
            libpcap's reason), then the status is 1.
            """
    )

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case reference, trie, bytecode
    }

    @Argument(help: ArgumentHelp("A pcap or pcapng capture, or - for standard input.", valueName: "capture"))
    var capture: String?

    /// Further operands, only to say what to write instead (the older `--filters A.dpf B.dpf`
    /// form leaves B.dpf here).
    @Argument(help: .hidden)
    var moreOperands: [String] = []

    @Option(
        name: .customLong("filters"), parsing: .singleValue,
        help: ArgumentHelp(
            "A filter file; repeat the option, or separate files with commas.", valueName: "file.dpf"),
        transform: ReplayCommand.splitFileList)
    var filterLists: [[String]] = []

    @Option(
        help: ArgumentHelp(
            "A compiled program (dpf compile -o); runs without the compiler.", valueName: "file.dpfc"))
    var program: String?

    @Option(help: "The engine that demultiplexes.")
    var engine: Engine = .bytecode

    @Option(help: "Demultiplexing threads (each app gets one ring per worker).")
    var workers = 1

    @Option(
        name: .customLong("ring-size"),
        help: ArgumentHelp(
            "Slots in each app's receive ring (default: 4096, less when many apps share the memory).",
            valueName: "slots"))
    var ringSize: Int?

    @Flag(help: "Also count per filter in the table (the JSON always has a 'filters' list).")
    var perFilter = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    static func splitFileList(_ text: String) throws -> [String] {
        let files = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !files.contains(where: \.isEmpty) else {
            throw ValidationError("--filters has an empty entry in '\(text)'; write --filters FILE.dpf")
        }
        return files
    }

    /// The capture and the filter files, wherever they were written.
    func operands() throws -> (capture: String, filterFiles: [String]) {
        let captures = (capture.map { [$0] } ?? []) + moreOperands
        let filterFiles = filterLists.flatMap { $0 }
        guard let only = captures.first else {
            throw ValidationError(
                "missing the capture; write: dpf replay CAPTURE --filters FILE.dpf (or --program FILE.dpfc)")
        }
        guard captures.count == 1 else {
            if let stray = captures.first(where: { $0.hasSuffix(".dpf") }) {
                throw ValidationError(
                    "'\(stray)' is not a capture: each filter file needs its own --filters (--filters A.dpf --filters B.dpf, or --filters A.dpf,B.dpf)"
                )
            }
            let quoted = captures.map { "'\($0)'" }
            throw ValidationError(
                "one capture at a time, not \(quoted.joined(separator: ", ")); write: dpf replay CAPTURE --filters FILE.dpf"
            )
        }
        return (only, filterFiles)
    }

    func validate() throws {
        let (_, filterFiles) = try operands()
        if program == nil && filterFiles.isEmpty {
            throw ValidationError("give --filters FILE.dpf or --program FILE.dpfc")
        }
        if program != nil && !filterFiles.isEmpty {
            throw ValidationError("give either --filters or --program, not both")
        }
        guard (1...MuxConfiguration.workerLimit).contains(workers) else {
            throw ValidationError("--workers must be in 1...\(MuxConfiguration.workerLimit), not \(workers)")
        }
        if let ringSize, !(1...RingLayout.maximumSlots).contains(ringSize) {
            throw ValidationError("--ring-size must be in 1...\(RingLayout.maximumSlots), not \(ringSize)")
        }
        if program != nil, engine != .bytecode {
            throw ValidationError("a compiled program runs only on the bytecode engine")
        }
    }

    /// Where reading stopped before the end of the capture.
    struct Stop {
        /// The record that could not be read, counting from 1.
        let record: Int
        /// libpcap's reason.
        let reason: String
    }

    func run() throws {
        let (capture, filterFiles) = try operands()
        let reader: LibpcapReader
        do {
            reader = try LibpcapReader(path: capture)
        } catch {
            let status = error.systemError.map { ExitStatus.reading(errno: $0) } ?? .badInput
            throw CommandFailure(status, "cannot read capture: \(error.message)")
        }
        guard let linkType = reader.linkType else {
            throw CommandFailure(
                .badInput,
                "\(capture): link type \(DataLink.describe(dataLinkType: reader.dataLinkType)) is not one DPF demultiplexes"
            )
        }
        let (mux, slots) = try makeMultiplexer(linkType: linkType, capture: capture, filterFiles: filterFiles)
        // A consumer thread drains every ring as the apps would, while the workers fill them.
        let drainer = RingDrainer(try MuxSetup.consumers(of: mux, slots: slots))
        guard drainer.start() else {
            throw CommandFailure(.environment, "the system refused a consumer thread")
        }
        let progress = ProgressLine()
        let source = LibpcapSource(reader, linkType: linkType) { records in
            progress.showPeriodically("replay: \(records.grouped) packets…")
        }
        let result: MuxRunResult
        do throws(MuxError) {
            result = try mux.run(source)
        } catch {
            _ = drainer.stop()
            throw MuxSetup.failure(error)
        }
        let drained = drainer.stop()
        progress.clear()
        let statistics = mux.statistics()
        let consumed = drained.reduce(0) { $0 + $1.packets }
        let written = statistics.apps.reduce(0) { $0 + $1.counters.delivered }
        guard statistics.isBalanced, consumed == written else {
            throw CommandFailure(
                .internalError,
                "internal error: the counters do not balance (\(statistics.received) received; \(written) written, \(consumed) consumed)"
            )
        }
        let stop = source.failure.map { error in
            Stop(
                record: error.brokenRecord?.number ?? reader.recordsRead + 1,
                reason: error.brokenRecord?.reason ?? error.message)
        }
        report(statistics, workers: mux.configuration.workers, slots: slots, stop: stop)
        if let failure = source.failure { throw CommandFailure(.badInput, failure.message) }
        _ = result
    }

    private func makeMultiplexer(linkType: LinkType, capture: String, filterFiles: [String]) throws
        -> (Multiplexer, Int)
    {
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
                    "\(program) was compiled for link type \(DataLink.describe(linkTypeValue: decoded.linkType)), but \(capture) has \(DataLink.describe(linkTypeValue: linkType.rawValue)); compile it with --link-type \(linkType.name)"
                )
            }
            return try MuxSetup.make(verified, linkType: linkType, workers: workers, ringSize: ringSize)
        }
        let set = try FilterLoader.analyze(filterFiles, linkType: linkType)
        // The files' own checks first (overlaps, grants, ties), with file:line:col diagnostics.
        _ = try FilterLoader.buildTrie(set)
        let kind: EngineKind =
            switch engine {
            case .bytecode: .bytecode
            case .trie: .trie
            case .reference: .reference
            }
        return try MuxSetup.make(set, engine: kind, workers: workers, ringSize: ringSize)
    }

    private func report(_ statistics: MuxStatistics, workers: Int, slots: Int, stop: Stop?) {
        let console = Console.current
        let tapApps = Set(statistics.filters.filter(\.isTap).map(\.app))
        if json {
            let apps = statistics.apps.map { app in
                JSONValue.object([
                    ("name", .string(app.name)), ("tap", .bool(tapApps.contains(app.name))),
                    ("delivered", .int(Int(app.counters.delivered))),
                    ("dropped", .int(Int(app.counters.dropped))),
                    ("cancelled", .int(Int(app.counters.cancelled))),
                    ("bytes", .int(Int(app.counters.bytes))),
                ])
            }
            let filters = statistics.filters.map { filter in
                JSONValue.object([
                    ("name", .string(filter.name)), ("app", .string(filter.app)),
                    ("tap", .bool(filter.isTap)),
                    ("delivered", .int(Int(filter.counters.delivered))),
                    ("dropped", .int(Int(filter.counters.dropped))),
                    ("cancelled", .int(Int(filter.counters.cancelled))),
                    ("bytes", .int(Int(filter.counters.bytes))),
                ])
            }
            let stopped = stop.map {
                JSONValue.object([("record", .int($0.record)), ("reason", .string($0.reason))])
            }
            let memory = statistics.memory
            console.out(
                JSONValue.object([
                    ("packets", .int(Int(statistics.received))),
                    ("delivered", .int(Int(statistics.delivered))),
                    ("unmatched", .int(Int(statistics.unmatched))),
                    ("malformed", .int(Int(statistics.malformed))),
                    ("dropped", .int(Int(statistics.dropped))),
                    ("cancelled", .int(Int(statistics.cancelled))),
                    ("stopped", stopped ?? .null), ("workers", .int(workers)), ("ring_slots", .int(slots)),
                    ("apps", .array(apps)), ("filters", .array(filters)),
                    (
                        "memory",
                        .object([
                            ("frames", .int(memory.frames)), ("free_frames", .int(memory.freeFrames)),
                            ("tlb_hits", .int(Int(memory.tlbHits))),
                            ("tlb_misses", .int(Int(memory.tlbMisses))),
                            ("repossessions", .int(memory.repossessions)),
                        ])
                    ),
                ]).serialized())
            return
        }
        var summary =
            "\(statistics.received) packets, \(statistics.unmatched) unmatched, \(statistics.malformed) malformed"
        if statistics.dropped > 0 || statistics.cancelled > 0 {
            summary += ", \(statistics.dropped) dropped (rings full), \(statistics.cancelled) cancelled"
        }
        console.out(summary)
        // Rows: each app, and under it (with --per-filter) its filters; every column padded to
        // its widest entry.
        var rows: [(name: String, role: String, counters: DeliveryCounters)] = []
        for app in statistics.apps {
            rows.append(("  " + app.name, tapApps.contains(app.name) ? "tap" : "owner", app.counters))
            guard perFilter else { continue }
            for filter in statistics.filters where filter.app == app.name {
                rows.append(("    " + filter.name, filter.isTap ? "tap" : "owner", filter.counters))
            }
        }
        let showLosses = rows.contains { $0.counters.dropped > 0 || $0.counters.cancelled > 0 }
        let widest = { (column: [String]) in column.map(\.count).max() ?? 0 }
        let nameWidth = widest(rows.map(\.name))
        let roleWidth = widest(rows.map(\.role))
        let countWidth = widest(rows.map { String($0.counters.delivered) })
        let bytesWidth = widest(rows.map { String($0.counters.bytes) })
        let left = { (text: String, width: Int) in text + String(repeating: " ", count: width - text.count) }
        let right = { (text: String, width: Int) in String(repeating: " ", count: width - text.count) + text }
        for row in rows {
            var line =
                left(row.name, nameWidth) + "  " + left(row.role, roleWidth) + "  "
                + right(String(row.counters.delivered), countWidth) + " packets  "
                + right(String(row.counters.bytes), bytesWidth) + " bytes"
            if showLosses { line += "  \(row.counters.dropped) dropped  \(row.counters.cancelled) cancelled" }
            console.out(line)
        }
        if let stop { console.out("reading stopped at record \(stop.record): \(stop.reason)") }
    }
}
