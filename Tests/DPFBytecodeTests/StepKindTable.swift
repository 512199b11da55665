import DPFBytecode
import Foundation
import Testing

/// The one table the interpreter's step kinds come from: every family of kinds (an operation, the
/// widths and load modes it is specialised for) and the Swift the interpreter runs for it. From it
/// are generated, between `// BEGIN GENERATED name` and `// END GENERATED name` lines,
/// `DecodedStep.Kind`'s cases, `Kind.init(_:)` and `Kind.shape` (DecodedStep.swift) and the
/// interpreter's dispatch arms (Interpreter.swift). The test fails when a region differs from what
/// the table generates; `DPF_UPDATE_GOLDEN=1 swift test --filter StepKindTable` rewrites the
/// regions instead (and fails, so the run is never mistaken for a pass: review the diff and run
/// again without the variable).
///
/// The table is plain text, so it does not need the library's shape enums: to add a family, add
/// its row here, regenerate, then add its operation to `DecodedStep.Operation` (and `Load`) and
/// the interpreter's helper; the compiler then checks `init(_:)` and `shape` are exhaustive.
@Suite struct StepKindTable {
    enum Specialisation { case none, width, widthAndMode }

    /// A family of kinds. `arm` is the interpreter's code for one kind, with `{W}` for the width in
    /// bytes and `{MODE}` for the load mode.
    struct Family {
        let operation: String
        let specialisation: Specialisation
        let arm: [String]

        init(_ operation: String, _ specialisation: Specialisation, _ arm: String...) {
            self.operation = operation
            self.specialisation = specialisation
            self.arm = arm
        }
    }

    /// In declaration order of the kinds (which sets their raw values).
    static let families: [Family] = [
        Family("shift", .width, "pc = shift({W}, step, bytes, length, registers, pc)"),
        Family("test", .widthAndMode, "pc = step.test(key({W}, .{MODE}), pc)"),
        Family("testNot", .widthAndMode, "pc = step.testNot(key({W}, .{MODE}), pc)"),
        Family("exact", .widthAndMode, "pc = rule.follow(code.exact(step, key({W}, .{MODE})), step)"),
        Family("direct", .widthAndMode, "pc = rule.follow(code.direct(step, key({W}, .{MODE})), step)"),
        Family("pair", .widthAndMode, "pc = rule.follow(pair(step, key({W}, .{MODE})), step)"),
        Family(
            "probing", .none, "pc = rule.follow(code.probing(step, key(Int(step.width), .checked)), step)"
        ),
        Family(
            "accept", .none, "rule.offer(step.operand, specificity: step.specificity)",
            "pc &+= DecodedStep.size"),
        Family("jump", .none, "pc = Int(step.target)"),
        Family("check", .none, "pc = check(step, registers, length, pc)"),
        Family("halt", .none, "break steps"),
    ]

    /// `DecodedStep.Width`'s cases by bytes, and `LoadMode`'s, in the order kinds are declared.
    static let widths: [(bytes: Int, name: String)] = [(1, "one"), (2, "two"), (4, "four")]
    static let modes = ["checked", "proven", "absolute", "absoluteProven"]

    /// One kind: its case name, its shape as Swift source, and its dispatch arm.
    struct Row {
        let name: String
        let family: Family
        let width: (bytes: Int, name: String)?
        let mode: String?

        var shape: String {
            switch (width, mode) {
            case (let width?, let mode?): ".load(.\(family.operation), .\(width.name), .\(mode))"
            case (let width?, nil): ".\(family.operation)(.\(width.name))"
            default: ".\(family.operation)"
            }
        }

        var arm: [String] {
            family.arm.map {
                $0.replacingOccurrences(of: "{W}", with: width.map { "\($0.bytes)" } ?? "{W}")
                    .replacingOccurrences(of: "{MODE}", with: mode ?? "{MODE}")
            }
        }
    }

    /// Width varies fastest, then mode: `test1`, `test2`, `test4`, `test1Proven`, ...
    static var rows: [Row] {
        families.flatMap { family -> [Row] in
            switch family.specialisation {
            case .none:
                return [Row(name: family.operation, family: family, width: nil, mode: nil)]
            case .width:
                return widths.map {
                    Row(name: "\(family.operation)\($0.bytes)", family: family, width: $0, mode: nil)
                }
            case .widthAndMode:
                return modes.flatMap { mode in
                    widths.map { width in
                        let suffix = mode == "checked" ? "" : mode.prefix(1).uppercased() + mode.dropFirst()
                        return Row(
                            name: "\(family.operation)\(width.bytes)\(suffix)", family: family, width: width,
                            mode: mode)
                    }
                }
            }
        }
    }

    /// Each region's lines, unindented, by file and name.
    static var regions: [(file: String, name: String, lines: [String])] {
        let rows = rows
        var kinds: [String] = []
        for family in families {
            let names = rows.filter { $0.family.operation == family.operation }.map(\.name)
            // One line per mode: the three widths together.
            for start in stride(from: 0, to: names.count, by: 3) {
                kinds.append("case " + names[start..<min(start + 3, names.count)].joined(separator: ", "))
            }
        }
        let initLines = ["switch shape {"] + rows.map { "case \($0.shape): self = .\($0.name)" } + ["}"]
        let shapeLines = ["switch self {"] + rows.map { "case .\($0.name): \($0.shape)" } + ["}"]
        let dispatch = rows.flatMap { row in
            let arm = row.arm
            return arm.count == 1
                ? ["case .\(row.name): \(arm[0])"] : ["case .\(row.name):"] + arm.map { "    " + $0 }
        }
        let decodedStep = "Sources/DPFBytecode/DecodedStep.swift"
        return [
            (decodedStep, "kinds", kinds), (decodedStep, "init", initLines),
            (decodedStep, "shape", shapeLines),
            ("Sources/DPFBytecode/Interpreter.swift", "dispatch", dispatch),
        ]
    }

    static let packageRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)  // Tests/DPFBytecodeTests/StepKindTable.swift
        return parts.joined(separator: "/")
    }()

    enum RegionError: Error { case missingMarkers(file: String, name: String) }

    /// `text` with region `name` replaced by `lines`, indented like its BEGIN line.
    static func replacing(region name: String, in text: String, file: String, with lines: [String]) throws
        -> String
    {
        var all = text.components(separatedBy: "\n")
        let trimmed = all.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = trimmed.firstIndex(of: "// BEGIN GENERATED \(name)"),
            let end = trimmed.firstIndex(of: "// END GENERATED \(name)"), begin < end
        else { throw RegionError.missingMarkers(file: file, name: name) }
        let indent = String(all[begin].prefix { $0 == " " })
        all.replaceSubrange((begin + 1)..<end, with: lines.map { indent + $0 })
        return all.joined(separator: "\n")
    }

    @Test func generatedRegionsMatchTheTable() throws {
        let update = ProcessInfo.processInfo.environment["DPF_UPDATE_GOLDEN"] == "1"
        for file in Set(StepKindTable.regions.map(\.file)).sorted() {
            let path = StepKindTable.packageRoot + "/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var generated = text
            for region in StepKindTable.regions where region.file == file {
                generated = try StepKindTable.replacing(
                    region: region.name, in: generated, file: file, with: region.lines)
            }
            if update {
                if generated != text {
                    try generated.write(toFile: path, atomically: true, encoding: .utf8)
                    Issue.record("rewrote \(file); review the diff and run again without DPF_UPDATE_GOLDEN")
                }
            } else if generated != text {
                // Name the first line that differs rather than print both files.
                let (have, want) = (
                    text.components(separatedBy: "\n"), generated.components(separatedBy: "\n")
                )
                let common = min(have.count, want.count)
                let line = (0..<common).first { have[$0] != want[$0] } ?? common
                Issue.record(
                    """
                    \(file):\(line + 1): generated regions differ from the table; rerun with \
                    DPF_UPDATE_GOLDEN=1 and review the diff
                      found:    \(line < have.count ? have[line] : "(end of file)")
                      expected: \(line < want.count ? want[line] : "(end of file)")
                    """)
            }
        }
    }

    /// The compiled kinds are the table's, in its order, each with the table's shape.
    @Test func compiledKindsAreTheTables() {
        let rows = StepKindTable.rows
        #expect(DecodedStep.Kind.allCases.map { "\($0)" } == rows.map(\.name))
        for (kind, row) in zip(DecodedStep.Kind.allCases, rows) {
            let shape = kind.shape
            #expect("\(shape.operation)" == row.family.operation, "\(kind)")
            #expect(shape.width?.bytes == row.width?.bytes, "\(kind)")
            #expect(shape.mode.map { "\($0)" } == row.mode, "\(kind)")
        }
    }

    /// Every shape decodes to its own kind and back: the mapping is total and one to one, and
    /// depends on no declaration order.
    @Test func everyShapeDecodesToItsKindAndBack() {
        let shapes = DecodedStep.Shape.allCases
        #expect(shapes.count == 68)
        #expect(Set(shapes).count == shapes.count)
        let kinds = shapes.map { DecodedStep.Kind($0) }
        for (shape, kind) in zip(shapes, kinds) { #expect(kind.shape == shape, "\(kind)") }
        #expect(Set(kinds).count == 68)
        #expect(DecodedStep.Kind.allCases.count == 68)
        #expect(Set(kinds) == Set(DecodedStep.Kind.allCases))
        for kind in DecodedStep.Kind.allCases { #expect(DecodedStep.Kind(kind.shape) == kind, "\(kind)") }
    }

    /// Of every operation × width (or none) × mode (or none), exactly the 68 shapes exist, and each
    /// reports the operation, width and mode it was made from.
    @Test func shapesAreExactlyTheValidProducts() {
        var made: [DecodedStep.Shape] = []
        for operation in DecodedStep.Operation.allCases {
            for width in DecodedStep.Width.allCases.map(Optional.some) + [nil] {
                for mode in DecodedStep.LoadMode.allCases.map(Optional.some) + [nil] {
                    guard let shape = DecodedStep.Shape(operation: operation, width: width, mode: mode) else {
                        continue
                    }
                    #expect(shape.operation == operation && shape.width == width && shape.mode == mode)
                    made.append(shape)
                }
            }
        }
        #expect(Set(made) == Set(DecodedStep.Shape.allCases))
        #expect(made.count == 68)
        // Loads are specialised by both, shifts by width, the rest by neither.
        #expect(DecodedStep.Shape(operation: .test, width: .two, mode: nil) == nil)
        #expect(DecodedStep.Shape(operation: .shift, width: .two, mode: .checked) == nil)
        #expect(DecodedStep.Shape(operation: .accept, width: .one, mode: nil) == nil)
        #expect(DecodedStep.Kind(.load(.exact, .two, .absoluteProven)) == .exact2AbsoluteProven)
        #expect(DecodedStep.Kind(.shift(.four)) == .shift4)
    }
}
