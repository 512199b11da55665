import ArgumentParser
import DPFBytecode
import DPFCompiler
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
        let verdicts = try DemoCommand.bytecodeVerdicts(trie, samples.map(\.packet))
        // The interpreter and the walker are both checked against the delivery rule applied to the
        // reference evaluator.
        let expected = trie.referenceVerdicts(for: samples.map(\.packet))
        let walked = samples.map { trie.verdict(for: $0.packet) }
        for (engine, found) in [("bytecode interpreter", verdicts), ("trie walker", walked)] {
            let disagreements = zip(expected, found).filter { $0 != $1 }.count
            guard disagreements == 0 else {
                throw CommandFailure(
                    .badInput,
                    "the \(engine) disagrees with the reference evaluator on \(disagreements) packets")
            }
        }
        let name = { (id: FilterID) in trie.filter(id)!.name }
        let unmatched = verdicts.filter { $0.owner == nil }.count
        let console = Console.current
        if json {
            console.out(report(set, trie: trie, verdicts: verdicts, unmatched: unmatched).serialized())
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
        for (app, owned, copies) in deliveries(set, trie: trie, verdicts: verdicts) {
            console.out(
                "  " + pad(app.name, 12) + pad(app.isTap ? "tap" : "priority \(app.priority)", 14)
                    + (app.isTap ? "\(copies) copies" : "\(owned)"))
        }
        console.out("  " + pad("(unmatched)", 26) + "\(unmatched)")
        console.out(
            "\nThe bytecode interpreter and the trie walker agreed with the reference evaluator on all \(samples.count) packets."
        )
    }

    /// Each packet's owner and taps from the compiled, verified program, as trie filter ids.
    static func bytecodeVerdicts(_ trie: DecisionTrie, _ packets: [Packet]) throws(CommandFailure)
        -> [Verdict]
    {
        let verdicts = ProgramVerdicts(Interpreter(try FilterLoader.compile(trie)), of: trie)
        return packets.map { verdicts.verdict($0.bytes) }
    }

    private func deliveries(_ set: FilterSet, trie: DecisionTrie, verdicts: [Verdict]) -> [(
        AppFilters, owned: Int, copies: Int
    )] {
        let app = { (id: FilterID) in trie.filter(id)!.app }
        return set.apps.map { entry in
            let owned = verdicts.filter { $0.owner.map(app) == entry.name }.count
            let copies = verdicts.filter { $0.taps.contains { app($0) == entry.name } }.count
            return (entry, owned, copies)
        }
    }

    private func report(_ set: FilterSet, trie: DecisionTrie, verdicts: [Verdict], unmatched: Int)
        -> JSONValue
    {
        .object([
            ("packets", .int(verdicts.count)),
            ("unmatched", .int(unmatched)),
            (
                "apps",
                .array(
                    deliveries(set, trie: trie, verdicts: verdicts).map { app, owned, copies in
                        .object([
                            ("name", .string(app.name)), ("tap", .bool(app.isTap)),
                            ("delivered", .int(app.isTap ? copies : owned)),
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
