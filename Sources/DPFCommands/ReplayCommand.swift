import ArgumentParser
import DPFBytecode
import DPFCapture
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFTrie
import DPFWire
import Foundation

/// `dpf replay CAPTURE --filters FILE.dpf... | --program OUT.dpfc [--engine ...] [--json]`: reads a
/// capture with libpcap and demultiplexes every packet in memory, counting what each app and each
/// filter gets.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Demultiplex a capture file through filters (or a compiled .dpfc program) and count deliveries.",
        usage: """
            dpf replay CAPTURE --filters FILE.dpf [--filters FILE.dpf ...] [--engine <engine>] [--per-filter] [--json]
            dpf replay CAPTURE --program FILE.dpfc [--json]
            """,
        discussion: """
            Options and the capture may come in any order. --filters takes one file per use, or several \
            separated by commas (--filters web.dpf,dns.dpf).

            Counts: 'malformed' packets are records too short for their link-layer header, IP packets on \
            a raw-IP link whose version is wrong for it, or records claiming more captured bytes than the \
            packet had; they are still offered to the filters (a load past the captured bytes is false), \
            so they are counted as delivered or unmatched as well. 'dropped' and 'cancelled' are always 0: \
            nothing drops a packet before the per-app rings arrive. A capture that breaks off is reported \
            as far as it was read ('stopped' names the record and libpcap's reason), then the status is 1.
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

    /// True for a record the filters cannot make sense of: shorter than its link-layer header, an
    /// IP packet of the wrong version on a raw-IP link, or more bytes captured than the packet had.
    static func isMalformed(_ packet: Packet) -> Bool {
        if packet.capturedLength > packet.originalLength { return true }
        let version = packet.bytes.first.map { $0 >> 4 }
        switch packet.linkType {
        case .ethernet, .linuxCooked:
            return packet.capturedLength < packet.linkType.layout.networkOffset(vlanDepth: 0)
        case .raw: return version != 4 && version != 6
        case .ipv4: return version != 4
        case .ipv6: return version != 6
        }
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
        let delivery = Delivery(
            try makeEngine(linkType: linkType, capture: capture, filterFiles: filterFiles),
            batchCapacity: ReplayCommand.batchPackets)
        // Packets are copied once, into a batch reused for the whole replay, and delivered a batch
        // at a time.
        let batch = PacketBatch(
            capacity: ReplayCommand.batchPackets, byteCapacity: ReplayCommand.batchPackets * 2048)
        var malformed = 0
        var failure: CaptureError?
        let progress = ProgressLine()
        defer { progress.clear() }
        while true {
            let packet: Packet?
            do {
                packet = try reader.nextPacket()
            } catch {
                failure = error
                break
            }
            guard let packet else { break }
            if ReplayCommand.isMalformed(packet) { malformed += 1 }
            packet.bytes.withUnsafeBytes { _ = batch.append($0) }
            if batch.isFull {
                delivery.deliver(batch)
                batch.removeAll()
                progress.showPeriodically("replay: \(delivery.packets.grouped) packets…")
            }
        }
        // What was read before a failure is delivered and reported too.
        delivery.deliver(batch)
        progress.clear()
        let stop = failure.map { error in
            Stop(
                record: error.brokenRecord?.number ?? reader.recordsRead + 1,
                reason: error.brokenRecord?.reason ?? error.message)
        }
        report(delivery, malformed: malformed, stop: stop)
        if let failure { throw CommandFailure(.badInput, failure.message) }
    }

    /// Packets demultiplexed per engine run.
    static let batchPackets = 256

    private func makeEngine(linkType: LinkType, capture: String, filterFiles: [String]) throws
        -> any DemuxEngine
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
            return BytecodeEngine(Interpreter(verified))
        }
        let set = try FilterLoader.analyze(filterFiles, linkType: linkType)
        let trie = try FilterLoader.buildTrie(set)
        switch engine {
        case .bytecode: return BytecodeEngine(Interpreter(try FilterLoader.compile(trie)))
        case .trie: return TrieEngine(trie)
        case .reference: return ReferenceEngine(trie)
        }
    }

    private func report(_ delivery: Delivery, malformed: Int, stop: Stop?) {
        let table = delivery.filters
        let console = Console.current
        if json {
            let apps = zip(table.apps, delivery.apps).map { app, tally in
                JSONValue.object([
                    ("name", .string(app.name)), ("tap", .bool(app.isTap)),
                    ("delivered", .int(tally.packets)),
                    // Nothing drops or cancels a delivery before the per-app rings exist.
                    ("dropped", .int(0)), ("cancelled", .int(0)),
                    ("bytes", .int(tally.bytes)),
                ])
            }
            let filters = zip(table.filters, delivery.perFilter).map { filter, tally in
                JSONValue.object([
                    ("name", .string(filter.name)), ("app", .string(table.apps[Int(filter.app)].name)),
                    ("tap", .bool(filter.isTap)),
                    ("delivered", .int(tally.packets)), ("bytes", .int(tally.bytes)),
                ])
            }
            let stopped = stop.map {
                JSONValue.object([("record", .int($0.record)), ("reason", .string($0.reason))])
            }
            console.out(
                JSONValue.object([
                    ("packets", .int(delivery.packets)), ("unmatched", .int(delivery.unmatched)),
                    ("malformed", .int(malformed)), ("stopped", stopped ?? .null),
                    ("apps", .array(apps)), ("filters", .array(filters)),
                ]).serialized())
            return
        }
        console.out("\(delivery.packets) packets, \(delivery.unmatched) unmatched, \(malformed) malformed")
        // Rows: each app, and under it (with --per-filter) its filters; every column padded to
        // its widest entry.
        var rows: [(name: String, role: String, tally: Tally)] = []
        for (index, app) in table.apps.enumerated() {
            rows.append(("  " + app.name, app.isTap ? "tap" : "owner", delivery.apps[index]))
            guard perFilter else { continue }
            for (filter, tally) in zip(table.filters, delivery.perFilter) where filter.app == index {
                rows.append(("    " + filter.name, filter.isTap ? "tap" : "owner", tally))
            }
        }
        let widest = { (column: [String]) in column.map(\.count).max() ?? 0 }
        let nameWidth = widest(rows.map(\.name))
        let roleWidth = widest(rows.map(\.role))
        let countWidth = widest(rows.map { String($0.tally.packets) })
        let bytesWidth = widest(rows.map { String($0.tally.bytes) })
        let left = { (text: String, width: Int) in text + String(repeating: " ", count: width - text.count) }
        let right = { (text: String, width: Int) in String(repeating: " ", count: width - text.count) + text }
        for row in rows {
            console.out(
                left(row.name, nameWidth) + "  " + left(row.role, roleWidth) + "  "
                    + right(String(row.tally.packets), countWidth) + " packets  "
                    + right(String(row.tally.bytes), bytesWidth) + " bytes")
        }
        if let stop { console.out("reading stopped at record \(stop.record): \(stop.reason)") }
    }
}
