import ArgumentParser
import DPFAnalysis
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

/// Options every command that reads filter files shares.
struct FilterOptions: ParsableArguments {
    @Option(
        name: .customLong("link-type"),
        help:
            "Link type the filters are compiled for: \(LinkType.allCases.map(\.name).joined(separator: ", ")).",
        transform: { text in
            guard let linkType = LinkType(name: text) else {
                throw ValidationError(
                    "unknown link type '\(text)'; expected one of \(LinkType.allCases.map(\.name).joined(separator: ", "))"
                )
            }
            return linkType
        })
    var linkType: LinkType = .ethernet
}

/// Reading, parsing and analysing filter files, printing diagnostics the way the contract asks.
enum FilterLoader {
    /// The largest filter file or program read (64 MiB): more is refused rather than read until
    /// memory runs out (`/dev/zero`, a disk image given by mistake).
    static let maximumFileSize = 64 << 20

    /// How many diagnostics (and refused filters) are printed before the rest are only counted.
    static let diagnosticLimit = 20

    /// The name `-` (standard input) gets in messages and diagnostics.
    static let standardInputName = "<stdin>"

    /// Reads a filter file, or fails with a one-line message. With `allowingStandardInput`, `-` is
    /// standard input, named `<stdin>` in diagnostics.
    static func read(_ path: String, allowingStandardInput: Bool = false) throws(CommandFailure) -> SourceFile
    {
        let name = allowingStandardInput && path == "-" ? standardInputName : path
        let bytes = try readBytes(path, allowingStandardInput: allowingStandardInput)
        try checkIsFilterText(bytes, name: name)
        return SourceFile(name: name, bytes: bytes)
    }

    /// Refuses files that are certainly not filter text, naming what they are instead of printing
    /// their bytes as a diagnostic's source line.
    static func checkIsFilterText(_ bytes: [UInt8], name: String) throws(CommandFailure) {
        guard let magic = PacketLoad.bigEndian(bytes, at: 0, width: 4) else { return }
        // pcap (microsecond and nanosecond, either byte order) and pcapng's section header block.
        if [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0x0A0D_0D0A].contains(magic) {
            throw CommandFailure(.badInput, "\(name) looks like a packet capture, not a filter file")
        }
        if bytes.starts(with: ProgramFile.magic) {
            throw CommandFailure(
                .badInput, "\(name) is a compiled program (dpf compile -o), not a filter file")
        }
    }

    /// Reads a file's bytes, or fails with a one-line message: a missing file or a directory is
    /// bad input (1), no permission is the environment (3) (`ExitStatus.reading(errno:)`), and a
    /// file larger than `maximumFileSize` is refused (1). With `allowingStandardInput`, `-` is
    /// standard input.
    static func readBytes(_ path: String, allowingStandardInput: Bool = false) throws(CommandFailure)
        -> [UInt8]
    {
        let fromStandardInput = allowingStandardInput && path == "-"
        let name = fromStandardInput ? standardInputName : path
        let descriptor: Int32
        if fromStandardInput {
            descriptor = StandardStreams.input
        } else {
            var opened: Int32
            repeat {
                opened = systemOpen(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
            } while opened < 0 && errno == EINTR
            guard opened >= 0 else { throw readFailure(name, errno) }
            descriptor = opened
        }
        defer { if !fromStandardInput { close(descriptor) } }
        var info = stat()
        if fstat(descriptor, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { throw CommandFailure(.badInput, "\(name) is a directory") }
            if info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) > maximumFileSize { throw tooLarge(name) }
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw readFailure(name, code)
            }
            if count == 0 { break }
            if bytes.count + count > maximumFileSize { throw tooLarge(name) }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    private static func readFailure(_ name: String, _ code: Int32) -> CommandFailure {
        if code == EISDIR { return CommandFailure(.badInput, "\(name) is a directory") }
        return CommandFailure(.reading(errno: code), "cannot read \(name): \(SystemError.reason(code))")
    }

    private static func tooLarge(_ name: String) -> CommandFailure {
        CommandFailure(
            .badInput, "\(name) is larger than \(maximumFileSize >> 20) MiB, the most dpf reads from one file"
        )
    }

    /// Parses every file; prints all diagnostics and fails if any file has errors.
    static func parse(_ paths: [String], allowingStandardInput: Bool = false) throws(CommandFailure)
        -> [FilterFile]
    {
        var files: [FilterFile] = []
        var diagnostics: [Diagnostic] = []
        for path in paths {
            let source = try read(path, allowingStandardInput: allowingStandardInput)
            do {
                files.append(try Parser.parseFile(source))
            } catch {
                diagnostics += error.diagnostics
            }
        }
        try report(diagnostics)
        return files
    }

    /// Parses and analyses; warnings go to stderr, errors stop with status 1.
    static func analyze(_ paths: [String], linkType: LinkType) throws(CommandFailure) -> FilterSet {
        try analyze(parsed: try parse(paths), linkType: linkType)
    }

    /// Analyses parsed files; warnings go to stderr, errors stop with status 1.
    static func analyze(parsed files: [FilterFile], linkType: LinkType) throws(CommandFailure) -> FilterSet {
        do {
            let analysis = try SemanticAnalyzer.analyze(files, linkType: linkType)
            printLimited(analysis.warnings)
            return analysis.filterSet
        } catch {
            try report(error.diagnostics)
            // The analyser threw with warnings only: still a refusal.
            throw CommandFailure(.badInput, "the filters were refused; nothing was compiled")
        }
    }

    /// Merges a filter set into the decision trie; refused filters are printed and stop with status 1.
    static func buildTrie(_ set: FilterSet) throws(CommandFailure) -> DecisionTrie {
        let (trie, errors) = TrieBuilder.build(set)
        guard errors.isEmpty else {
            for error in errors.prefix(diagnosticLimit) { Console.current.err(error.description) }
            if errors.count > diagnosticLimit {
                Console.current.err(
                    "... and \(counted(errors.count - diagnosticLimit, "more refused filter"))")
            }
            throw CommandFailure(
                .badInput, "\(counted(errors.count, "filter")) refused; nothing was compiled")
        }
        return trie
    }

    /// Lowers the trie to bytecode and verifies it.
    static func compile(_ trie: DecisionTrie) throws(CommandFailure) -> VerifiedProgram {
        do {
            return try Compiler.compile(trie)
        } catch {
            switch error {
            case .lowering: throw CommandFailure(.badInput, error.description)
            case .verification: throw CommandFailure(.internalError, "internal error: \(error.description)")
            }
        }
    }

    /// Prints diagnostics, errors first in file order, then warnings; throws if there was an error.
    /// Only the first `diagnosticLimit` are printed, then a line counting the rest.
    static func report(_ diagnostics: [Diagnostic]) throws(CommandFailure) {
        guard !diagnostics.isEmpty else { return }
        let errors = diagnostics.filter { $0.severity == .error }
        let warnings = diagnostics.filter { $0.severity != .error }
        printLimited(errors + warnings)
        if !errors.isEmpty {
            throw CommandFailure(
                .badInput, "\(counted(errors.count, "error")); nothing was compiled")
        }
    }

    /// Prints the first `diagnosticLimit` diagnostics in the order given, then one line counting
    /// the ones not printed ("... and 99,980 more errors").
    static func printLimited(_ diagnostics: [Diagnostic]) {
        let console = Console.current
        for diagnostic in diagnostics.prefix(diagnosticLimit) { console.err(diagnostic.rendered) }
        let rest = diagnostics.dropFirst(diagnosticLimit)
        guard !rest.isEmpty else { return }
        let errors = rest.filter { $0.severity == .error }.count
        let warnings = rest.count - errors
        var parts: [String] = []
        if errors > 0 { parts.append(counted(errors, "more error")) }
        if warnings > 0 { parts.append(counted(warnings, "more warning")) }
        console.err("... and " + parts.joined(separator: " and "))
    }

    /// "1 error", "99,980 errors".
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count.grouped) \(noun)\(count == 1 ? "" : "s")"
    }
}
