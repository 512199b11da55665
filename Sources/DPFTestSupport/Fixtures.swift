import Foundation
import Testing

/// Paths to the project's files and to the shared corpus beside the checkout.
public enum Fixtures {
    /// The package root, found from this file's compile-time path.
    public static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)  // Sources/DPFTestSupport/Fixtures.swift
        return parts.joined(separator: "/")
    }()

    public static let filtersDirectory = packageRoot + "/filters"

    /// `../shared/corpus` beside the checkout, or `DPF_CORPUS` if set.
    public static var corpusDirectory: String {
        if let override = getEnvironment("DPF_CORPUS") { return override }
        var parts = packageRoot.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast()
        return parts.joined(separator: "/") + "/shared/corpus"
    }

    /// The corpus's captures, when the corpus is there.
    public static var corpusCaptures: String { corpusDirectory + "/pcap" }

    /// Whether the corpus is there; tests that read it are skipped, with a message, when not.
    public static var hasCorpus: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: corpusCaptures, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    public static let noCorpus: Comment =
        "no capture corpus at ../shared/corpus/pcap (set DPF_CORPUS to its path)"

    /// Expects `actual` to equal the golden file at `path` (from the package root). With
    /// `DPF_UPDATE_GOLDEN=1` it rewrites the file instead and records an issue, so an update run
    /// never passes: review the diff, then run again without the variable.
    public static func expectGolden(
        _ actual: String, at path: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let file = packageRoot + "/" + path
        if getEnvironment("DPF_UPDATE_GOLDEN") == "1" {
            try actual.write(toFile: file, atomically: true, encoding: .utf8)
            Issue.record(
                "rewrote \(path); review the diff and run again without DPF_UPDATE_GOLDEN",
                sourceLocation: sourceLocation)
            return
        }
        let expected = try String(contentsOfFile: file, encoding: .utf8)
        #expect(
            actual == expected, "\(path) differs; rerun with DPF_UPDATE_GOLDEN=1 and review the diff",
            sourceLocation: sourceLocation)
    }

    public static func getEnvironment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
