import ArgumentParser
import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire
import Foundation

/// `dpf compile FILE.dpf... [--emit ast|tree|trie|stats|bytecode] [--json] [-o OUT.dpfc]`.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Check filter files and print a stage of their compilation.",
        discussion: """
            Without --emit, checks the files (including overlaps between apps) and prints a one-line \
            summary. --emit ast prints the parsed syntax tree (parsing only); --emit tree the normalised \
            filter trees (after semantic analysis); --emit trie the merged decision trie; --emit stats \
            its size; --emit bytecode the verified program the trie lowers to.
            """
    )

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case ast
        case tree
        case trie
        case stats
        case bytecode
    }

    @Argument(help: "Filter files (.dpf).")
    var files: [String]

    @Option(help: "Print this stage: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var emit: Stage?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(name: .short, help: "Write the verified program to this .dpfc file.")
    var output: String?

    @OptionGroup var filterOptions: FilterOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one filter file") }
    }

    func run() throws {
        let console = Console.current
        let stages = CompileStages(files, linkType: filterOptions.linkType)
        if let output {
            let program = try stages.program()
            let bytes = ProgramFile.encode(program)
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                throw CommandFailure(.environment, "cannot write \(output)")
            }
            if emit == nil {
                console.out(
                    "wrote \(output): \(program.instructions.count) instructions, \(program.tables.count) tables, \(bytes.count) bytes"
                )
                return
            }
        }
        switch emit {
        case .ast?:
            let parsed = try FilterLoader.parse(files)
            if json {
                console.out(JSONOutput.ast(parsed).serialized())
            } else {
                console.out(parsed.map(ASTDumper.dump).joined(), terminator: "")
            }
        case .tree?:
            let set = try stages.set()
            console.out(
                json ? JSONOutput.filterSet(set).serialized() : TreePrinter.dump(set),
                terminator: json ? "\n" : "")
        case .trie?:
            let trie = try stages.trie()
            console.out(
                json ? JSONValue.object([("trie", .string(trie.dump()))]).serialized() : trie.dump(),
                terminator: json ? "\n" : "")
        case .stats?:
            let statistics = try stages.trie().statistics
            console.out(
                json ? JSONOutput.statistics(statistics).serialized() : JSONOutput.statisticsText(statistics))
        case .bytecode?:
            let text = Disassembler.disassemble(try stages.program())
            console.out(
                json ? JSONValue.object([("bytecode", .string(text))]).serialized() : text,
                terminator: json ? "\n" : "")
        case nil:
            let set = try stages.set()
            _ = try stages.trie()
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

/// The stages of compiling the files, each run at most once (so `-o` with `--emit` reports each
/// warning once and lowers once), when first asked for.
private final class CompileStages {
    private let files: [String]
    private let linkType: LinkType
    private var analyzed: FilterSet?
    private var built: DecisionTrie?
    private var lowered: Program?

    init(_ files: [String], linkType: LinkType) {
        self.files = files
        self.linkType = linkType
    }

    func set() throws(CommandFailure) -> FilterSet {
        if let analyzed { return analyzed }
        let set = try FilterLoader.analyze(files, linkType: linkType)
        analyzed = set
        return set
    }

    func trie() throws(CommandFailure) -> DecisionTrie {
        if let built { return built }
        let trie = try FilterLoader.buildTrie(try set())
        built = trie
        return trie
    }

    func program() throws(CommandFailure) -> Program {
        if let lowered { return lowered }
        let program = try FilterLoader.compile(try trie()).program
        lowered = program
        return program
    }
}
