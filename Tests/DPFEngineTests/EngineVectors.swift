import DPFTestSupport
import Foundation
import Testing

/// Engine test vectors as data, in the spirit of ubpf's and rbpf's one test directory run on every
/// backend: a new engine gets the whole suite by joining the list in `EngineVectorTests`.
///
/// A `.vectors` file holds cases, each:
///
///     vector NAME                   starts a case; the rest of the line names it
///     filters                       DPF filter-file text follows, up to a line `end`: the case
///       ...                         runs on every engine
///     end
///     program                       or: bytecode assembly (`dpf compile --emit bytecode` text),
///       ...                         up to `end`: the case runs on every bytecode engine
///     end
///     packet HEX                    a packet, as hex digits (spaces allowed)
///     expect OWNER [+ TAP ...]      that packet's verdict: the owning filter's name or `none`,
///                                   then the matching taps' names
///
/// Outside `filters` and `program` blocks, blank lines and lines starting with `#` are comments.
struct EngineVector: Sendable, CustomTestStringConvertible {
    enum Source: Sendable {
        case filters(String)
        case program(String)
    }

    struct Expectation: Sendable, Equatable, CustomStringConvertible {
        var owner: String?
        var taps: [String]

        var description: String {
            (owner ?? "none") + (taps.isEmpty ? "" : " + " + taps.joined(separator: " "))
        }
    }

    struct Check: Sendable {
        let packet: [UInt8]
        let expected: Expectation
        /// Where the `expect` line is, for failure messages.
        let location: String
    }

    let name: String
    let source: Source
    let checks: [Check]

    var testDescription: String { name }

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    /// Every vector of every `.vectors` file in `directory`, files in name order.
    static func load(directory: String) throws -> [EngineVector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".vectors") }.sorted()
        return try names.flatMap { name in
            try parse(String(contentsOfFile: directory + "/" + name, encoding: .utf8), file: name)
        }
    }

    static func parse(_ text: String, file: String) throws -> [EngineVector] {
        var vectors: [EngineVector] = []
        var name: String?
        var source: Source?
        var checks: [Check] = []
        var packet: [UInt8]?
        var block: (kind: String, lines: [String])?
        func fail(_ line: Int, _ message: String) -> FormatError {
            FormatError(description: "\(file):\(line): \(message)")
        }
        func finish(_ line: Int) throws {
            guard let current = name else { return }
            guard let source else { throw fail(line, "vector '\(current)' has no filters or program") }
            guard packet == nil else {
                throw fail(line, "the last packet of '\(current)' has no expect line")
            }
            guard !checks.isEmpty else { throw fail(line, "vector '\(current)' has no packets") }
            vectors.append(EngineVector(name: current, source: source, checks: checks))
        }
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let open = block {
                if line == "end" {
                    let body = open.lines.joined(separator: "\n") + "\n"
                    source = open.kind == "filters" ? .filters(body) : .program(body)
                    block = nil
                } else {
                    block!.lines.append(String(rawLine))
                }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let (keyword, rest) = split(line)
            switch keyword {
            case "vector":
                try finish(number)
                guard !rest.isEmpty else { throw fail(number, "a vector needs a name") }
                (name, source, checks, packet) = (rest, nil, [], nil)
            case "filters", "program":
                guard name != nil, source == nil else {
                    throw fail(number, "'\(keyword)' must follow a 'vector' line, once")
                }
                block = (keyword, [])
            case "packet":
                guard source != nil, packet == nil else {
                    throw fail(number, "a packet must follow the filters or program, and an expect line")
                }
                packet = try hex(rest, line: number, fail: fail)
            case "expect":
                guard let bytes = packet else { throw fail(number, "expect without a packet") }
                checks.append(
                    Check(packet: bytes, expected: try expectation(rest), location: "\(file):\(number)"))
                packet = nil
            default:
                throw fail(number, "unknown line '\(keyword)'")
            }
        }
        if block != nil { throw FormatError(description: "\(file): a block is not closed with 'end'") }
        try finish(text.split(separator: "\n", omittingEmptySubsequences: false).count)
        return vectors
    }

    private static func split(_ line: String) -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (String(line[..<space]), line[space...].trimmingCharacters(in: .whitespaces))
    }

    private static func hex(_ text: String, line: Int, fail: (Int, String) -> FormatError) throws -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0 else { throw fail(line, "an odd number of hex digits") }
        return try stride(from: 0, to: digits.count, by: 2).map { start in
            guard let byte = UInt8(String(digits[start...start + 1]), radix: 16) else {
                throw fail(line, "'\(String(digits[start...start + 1]))' is not a hex byte")
            }
            return byte
        }
    }

    private static func expectation(_ text: String) throws -> Expectation {
        let parts = text.split(separator: "+", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        let owner = parts[0]
        let taps = parts.count > 1 ? parts[1].split(separator: " ").map(String.init) : []
        return Expectation(owner: owner == "none" ? nil : owner, taps: taps.sorted())
    }

    static let directory = Fixtures.packageRoot + "/Tests/DPFEngineTests/Vectors"
}
