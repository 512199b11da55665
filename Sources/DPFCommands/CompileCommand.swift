import ArgumentParser
import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFSyntax
import DPFTrie
import DPFWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `dpf compile FILE.dpf... [--emit ast|tree|trie|stats|bytecode] [--json] [-o OUT.dpfc]`.
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Check filter files and print a stage of their compilation.",
        discussion: """
            Without --emit, checks the files (including overlaps between apps) and prints a one-line \
            summary. --emit ast prints the parsed syntax tree; --emit tree the normalised filter trees \
            (after semantic analysis); --emit trie the merged decision trie; --emit stats its size; \
            --emit bytecode the verified program the trie lowers to. A file named - is read from \
            standard input (named <stdin> in messages).

            -o always compiles fully (analysis, the trie, lowering, verification), whatever --emit \
            prints: the program is written first, then the stage is printed (without --emit, a line \
            describing what was written). -o - writes the program to standard output and prints \
            nothing else there. A regular file is replaced atomically (a link is followed and its \
            target replaced); a FIFO or character device (/dev/null, /dev/stdout) is written through.

            --json prints one JSON object on standard output in every form; with -o it has an \
            "output" member: {"path", "bytes", "instructions", "tables"}.
            """
    )

    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case ast
        case tree
        case trie
        case stats
        case bytecode
    }

    @Argument(help: "Filter files (.dpf); - reads one from standard input.")
    var files: [String]

    @Option(help: "Print this stage: \(Stage.allCases.map(\.rawValue).joined(separator: ", ")).")
    var emit: Stage?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(
        name: .short,
        help: ArgumentHelp(
            "Compile fully and write the verified program to this file (- for standard output).",
            valueName: "OUT.dpfc"))
    var output: String?

    @OptionGroup var filterOptions: FilterOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one filter file") }
        if files.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("standard input (-) can be read only once")
        }
        if let output, OutputFile.isStandardOutput(output), emit != nil || json {
            throw ValidationError(
                "-o - writes the program to standard output, so it cannot be combined with --emit or --json")
        }
    }

    func run() throws {
        let console = Console.current
        if let output, let input = OutputFile.input(among: files, replacedBy: output) {
            throw CommandFailure(.usage, "-o \(output) would overwrite the filter file \(input)")
        }
        let stages = CompileStages(files, linkType: filterOptions.linkType)
        var written: JSONValue?
        if let output {
            let program = try stages.program()
            let bytes = ProgramFile.encode(program)
            let file = try OutputFile.open(output)
            guard !file.isTerminal else {
                throw CommandFailure(
                    .usage,
                    "refusing to write a binary program to a terminal; redirect standard output or give -o FILE"
                )
            }
            // Standard output holds the program (-o -, /dev/stdout): nothing else may go there.
            let programOnStandardOutput = file.isStandardOutputFile
            if programOnStandardOutput, emit != nil || json {
                throw CommandFailure(
                    .usage, "-o \(output) is standard output, so it cannot be combined with --emit or --json")
            }
            try file.write(bytes)
            try file.commit()
            if programOnStandardOutput { return }
            written = .object([
                ("path", .string(output)), ("bytes", .int(bytes.count)),
                ("instructions", .int(program.instructions.count)), ("tables", .int(program.tables.count)),
            ])
            if emit == nil && !json {
                console.out(
                    "wrote \(output): \(program.instructions.count) instructions, \(program.tables.count) tables, \(bytes.count) bytes"
                )
                return
            }
        }
        /// The stage's JSON object, with the written file's description when there is one.
        func printJSON(_ value: JSONValue) {
            console.out((written.map { value.adding("output", $0) } ?? value).serialized())
        }
        switch emit {
        case .ast?:
            let parsed = try stages.parsed()
            if json {
                printJSON(JSONOutput.ast(parsed))
            } else {
                console.out(parsed.map(ASTDumper.dump).joined(), terminator: "")
            }
        case .tree?:
            let set = try stages.set()
            if json {
                printJSON(JSONOutput.filterSet(set))
            } else {
                console.out(TreePrinter.dump(set), terminator: "")
            }
        case .trie?:
            let trie = try stages.trie()
            if json {
                printJSON(.object([("trie", .string(trie.dump()))]))
            } else {
                console.out(trie.dump(), terminator: "")
            }
        case .stats?:
            let statistics = try stages.trie().statistics
            if json {
                printJSON(JSONOutput.statistics(statistics))
            } else {
                console.out(JSONOutput.statisticsText(statistics))
            }
        case .bytecode?:
            let text = Disassembler.disassemble(try stages.program())
            if json {
                printJSON(.object([("bytecode", .string(text))]))
            } else {
                console.out(text, terminator: "")
            }
        case nil:
            let set = try stages.set()
            _ = try stages.trie()
            let summary =
                "\(set.apps.count) app\(set.apps.count == 1 ? "" : "s"), \(set.filterCount) filter\(set.filterCount == 1 ? "" : "s")"
            if json {
                printJSON(
                    .object([
                        ("link", .string(set.linkType.name)), ("apps", .int(set.apps.count)),
                        ("filters", .int(set.filterCount)),
                    ]))
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
    private var parsedFiles: [FilterFile]?
    private var analyzed: FilterSet?
    private var built: DecisionTrie?
    private var lowered: Program?

    init(_ files: [String], linkType: LinkType) {
        self.files = files
        self.linkType = linkType
    }

    /// The parsed files; read once, so `-` (standard input) is read once too.
    func parsed() throws(CommandFailure) -> [FilterFile] {
        if let parsedFiles { return parsedFiles }
        let parsed = try FilterLoader.parse(files, allowingStandardInput: true)
        parsedFiles = parsed
        return parsed
    }

    func set() throws(CommandFailure) -> FilterSet {
        if let analyzed { return analyzed }
        let set = try FilterLoader.analyze(parsed: try parsed(), linkType: linkType)
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
