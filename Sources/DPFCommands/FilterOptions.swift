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
    /// Reads a filter file, or fails with a one-line message.
    static func read(_ path: String) throws(CommandFailure) -> SourceFile {
        SourceFile(name: path, bytes: try readBytes(path))
    }

    /// Reads a file's bytes, or fails with a one-line message.
    static func readBytes(_ path: String) throws(CommandFailure) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw CommandFailure(.badInput, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes += chunk[0..<count] }
            if count < chunk.count {
                if ferror(file) != 0 { throw CommandFailure(.badInput, "cannot read \(path): read error") }
                break
            }
        }
        return bytes
    }

    /// Parses every file; prints all diagnostics and fails if any file has errors.
    static func parse(_ paths: [String]) throws(CommandFailure) -> [FilterFile] {
        var files: [FilterFile] = []
        var diagnostics: [Diagnostic] = []
        for path in paths {
            let source = try read(path)
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
        let files = try parse(paths)
        do {
            let analysis = try SemanticAnalyzer.analyze(files, linkType: linkType)
            for warning in analysis.warnings { Console.current.err(warning.rendered) }
            return analysis.filterSet
        } catch {
            try report(error.diagnostics)
            preconditionFailure("report(_:) throws for a non-empty error list")
        }
    }

    /// Merges a filter set into the decision trie; refused filters are printed and stop with status 1.
    static func buildTrie(_ set: FilterSet) throws(CommandFailure) -> DecisionTrie {
        let (trie, errors) = TrieBuilder.build(set)
        guard errors.isEmpty else {
            for error in errors { Console.current.err(error.description) }
            throw CommandFailure(
                .badInput,
                "\(errors.count) filter\(errors.count == 1 ? "" : "s") refused; nothing was compiled")
        }
        return trie
    }

    /// Lowers the trie to bytecode and verifies it.
    static func compile(_ trie: DecisionTrie) throws(CommandFailure) -> VerifiedProgram {
        do {
            return try Verifier.verify(try Lowering.lower(trie))
        } catch let error as LoweringError {
            throw CommandFailure(.badInput, "cannot lower the filters to bytecode: \(error.message)")
        } catch {
            preconditionFailure("the compiler produced a program the verifier refuses: \(error)")
        }
    }

    /// Prints diagnostics, errors first in file order; throws if there was an error.
    static func report(_ diagnostics: [Diagnostic]) throws(CommandFailure) {
        guard !diagnostics.isEmpty else { return }
        for diagnostic in diagnostics { Console.current.err(diagnostic.rendered) }
        let errors = diagnostics.filter { $0.severity == .error }.count
        if errors > 0 {
            throw CommandFailure(.badInput, "\(errors) error\(errors == 1 ? "" : "s"); nothing was compiled")
        }
    }
}
