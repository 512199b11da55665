import ArgumentParser
import DPFFilter
import DPFSyntax

/// `dpf compile FILE.dpf... [--emit ast|tree] [--json]`.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Check filter files and print a stage of their compilation.",
        discussion: """
            Without --emit, checks the files and prints a one-line summary. --emit ast prints the parsed
            syntax tree (parsing only); --emit tree runs semantic analysis and prints the normalised
            filter trees.
            """
    )

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case ast
        case tree
    }

    @Argument(help: "Filter files (.dpf).")
    var files: [String]

    @Option(help: "Print this stage: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var emit: Stage?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var filterOptions: FilterOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one filter file") }
    }

    func run() throws {
        let console = Console.current
        switch emit {
        case .ast?:
            let parsed = try FilterLoader.parse(files)
            if json {
                console.out(JSONOutput.ast(parsed).serialized())
            } else {
                console.out(parsed.map(ASTDumper.dump).joined(), terminator: "")
            }
        case .tree?:
            let set = try FilterLoader.analyze(files, linkType: filterOptions.linkType)
            console.out(
                json ? JSONOutput.filterSet(set).serialized() : TreePrinter.dump(set),
                terminator: json ? "\n" : "")
        case nil:
            let set = try FilterLoader.analyze(files, linkType: filterOptions.linkType)
            let summary =
                "\(set.apps.count) app\(set.apps.count == 1 ? "" : "s"), \(set.filterCount) filter\(set.filterCount == 1 ? "" : "s")"
            if json {
                console.out(
                    JSONValue.object([
                        ("link", .string(set.linkType.name)), ("apps", .int(set.apps.count)),
                        ("filters", .int(set.filterCount)),
                    ]).serialized())
            } else {
                console.out("ok: \(summary) for link type \(set.linkType.name)")
            }
        }
    }
}
