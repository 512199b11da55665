import ArgumentParser
import DPFBytecode
import DPFCompiler
import DPFEngine
import DPFFilter
import DPFTrie
import DPFWire
import Foundation

/// `dpf demo [FILE.dpf...]`: compiles the example filters into one verified program and runs a
/// built-in packet set through it, showing each packet's owner and taps, checked against the trie
/// walker and the reference evaluator.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Compile filters (default: filters/*.dpf) into one program and demultiplex built-in packets."
    )

    @Argument(help: "Filter files; default: every .dpf file in ./filters.")
    var files: [String] = []

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let paths = try files.isEmpty ? DemoCommand.defaultFilterFiles() : files
        let set = try FilterLoader.analyze(paths, linkType: .ethernet)
        let trie = try FilterLoader.buildTrie(set)
        let samples = DemoTraffic.samples
        // Every engine runs the packets through the shared delivery layer; the interpreter and the
        // walker are both checked against the reference evaluator.
        let batch = PacketBatch(samples.map(\.packet.bytes))
        let engines: [any DemuxEngine] = [
            BytecodeEngine(Interpreter(try FilterLoader.compile(trie))), TrieEngine(trie),
            ReferenceEngine(trie),
        ]
        var deliveries: [Delivery] = []
        var results: [[Verdict]] = []
        for engine in engines {
            let delivery = Delivery(engine)
            var verdicts: [Verdict] = []
            delivery.deliver(batch) { verdicts.append($0.verdict(in: engine.filters)) }
            deliveries.append(delivery)
            results.append(verdicts)
        }
        let (verdicts, expected) = (results[0], results[2])
        for (engine, found) in [("bytecode interpreter", verdicts), ("trie walker", results[1])] {
            let disagreements = zip(expected, found).filter { $0 != $1 }.count
            guard disagreements == 0 else {
                throw CommandFailure(
                    .badInput,
                    "the \(engine) disagrees with the reference evaluator on \(disagreements) packets")
            }
        }
        let delivery = deliveries[0]
        let name = { (id: FilterID) in trie.filter(id)!.name }
        let unmatched = delivery.unmatched
        let console = Console.current
        if json {
            console.out(report(set, delivery).serialized())
            return
        }
        console.out(
            "Compiled \(set.apps.count) apps, \(set.filterCount) filters from \(paths.count) files into one trie (link type ethernet)."
        )
        console.out("Demultiplexing \(samples.count) built-in packets with the bytecode interpreter:\n")
        for (index, sample) in samples.enumerated() {
            let verdict = verdicts[index]
            var delivery = verdict.owner.map(name) ?? "unmatched"
            if !verdict.taps.isEmpty {
                delivery += "  + copies: " + verdict.taps.map(name).joined(separator: ", ")
            }
            console.out(
                pad("\(index + 1)", 3) + "  " + pad(PacketDescription.summary(sample.packet), 58) + "  "
                    + delivery)
            console.out("     (\(sample.note))")
        }
        console.out("\nPackets delivered, per app:")
        for (app, delivered) in DemoCommand.deliveries(set, delivery) {
            console.out(
                "  " + pad(app.name, 12) + pad(app.isTap ? "tap" : "priority \(app.priority)", 14)
                    + (app.isTap ? "\(delivered) copies" : "\(delivered)"))
        }
        console.out("  " + pad("(unmatched)", 26) + "\(unmatched)")
        console.out(
            "\nThe bytecode interpreter and the trie walker agreed with the reference evaluator on all \(samples.count) packets."
        )
    }

    /// Each app of the set with the packets the delivery layer gave it (owned, or tap copies).
    static func deliveries(_ set: FilterSet, _ delivery: Delivery) -> [(AppFilters, delivered: Int)] {
        let tallies = Dictionary(
            uniqueKeysWithValues: zip(delivery.filters.apps.map(\.name), delivery.apps.map(\.packets)))
        return set.apps.map { ($0, tallies[$0.name] ?? 0) }
    }

    private func report(_ set: FilterSet, _ delivery: Delivery) -> JSONValue {
        .object([
            ("packets", .int(delivery.packets)),
            ("unmatched", .int(delivery.unmatched)),
            (
                "apps",
                .array(
                    DemoCommand.deliveries(set, delivery).map { app, delivered in
                        .object([
                            ("name", .string(app.name)), ("tap", .bool(app.isTap)),
                            ("delivered", .int(delivered)),
                        ])
                    })
            ),
        ])
    }

    static func defaultFilterFiles() throws -> [String] {
        let directory = "filters"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw CommandFailure(
                .badInput, "no ./filters directory here; run from the project root or name filter files")
        }
        let paths = names.filter { $0.hasSuffix(".dpf") }.sorted().map { "\(directory)/\($0)" }
        if paths.isEmpty { throw CommandFailure(.badInput, "./filters holds no .dpf files") }
        return paths
    }
}
