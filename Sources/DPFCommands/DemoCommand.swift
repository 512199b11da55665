import ArgumentParser
import DPFFilter
import DPFWire
import Foundation

/// `dpf demo [FILE.dpf...]`: compiles the example filters and runs a built-in packet set through
/// every filter with the reference evaluator, showing which filters accept which packets.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Compile filters (default: filters/*.dpf) and evaluate them over built-in packets."
    )

    @Argument(help: "Filter files; default: every .dpf file in ./filters.")
    var files: [String] = []

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let paths = try files.isEmpty ? DemoCommand.defaultFilterFiles() : files
        let set = try FilterLoader.analyze(paths, linkType: .ethernet)
        let samples = DemoTraffic.samples
        let matches = samples.map { ReferenceEvaluator.matchingFilters(set, $0.packet) }
        let unmatched = matches.filter(\.isEmpty).count
        let console = Console.current
        if json {
            console.out(report(set, samples: samples, matches: matches, unmatched: unmatched).serialized())
            return
        }
        console.out(
            "Compiled \(set.apps.count) apps, \(set.filterCount) filters from \(paths.count) files (link type ethernet)."
        )
        console.out("Evaluating \(samples.count) built-in packets with the reference evaluator:\n")
        for (index, sample) in samples.enumerated() {
            let describe = PacketDescription.summary(sample.packet)
            console.out(
                pad("\(index + 1)", 3) + "  " + pad(describe, 58) + "  "
                    + (matches[index].isEmpty ? "-" : matches[index].joined(separator: ", ")))
            console.out("     (\(sample.note))")
        }
        console.out("\nPackets accepted, per filter:")
        for (app, filter) in set.allFilters {
            let count = matches.filter { $0.contains(filter.name) }.count
            let kind = app.isTap ? "tap" : "priority \(app.priority)"
            console.out("  " + pad(filter.name, 24) + pad(kind, 14) + "\(count)")
        }
        console.out("  " + pad("(no filter)", 38) + "\(unmatched)")
    }

    private func report(_ set: FilterSet, samples: [DemoTraffic.Sample], matches: [[String]], unmatched: Int)
        -> JSONValue
    {
        .object([
            ("packets", .int(samples.count)),
            ("unmatched", .int(unmatched)),
            (
                "filters",
                .array(
                    set.allFilters.map { app, filter in
                        .object([
                            ("name", .string(filter.name)), ("app", .string(app.name)),
                            ("tap", .bool(app.isTap)),
                            ("accepted", .int(matches.filter { $0.contains(filter.name) }.count)),
                        ])
                    })
            ),
        ])
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
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
