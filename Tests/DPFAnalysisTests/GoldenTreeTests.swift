import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTestSupport
import Foundation
import Testing

/// Each example filter file and its expected `--emit tree` (and `--emit ast`) text. Run with
/// `DPF_UPDATE_GOLDEN=1` to rewrite the expectations after an intended change, then review the diff.
@Suite struct GoldenTreeTests {
    static let exampleFiles: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory)) ?? []
        return names.filter { $0.hasSuffix(".dpf") }.sorted()
    }()

    static let goldenDirectory = Fixtures.packageRoot + "/Tests/DPFAnalysisTests/Golden"

    @Test func everyExampleFileHasGoldenTexts() {
        #expect(GoldenTreeTests.exampleFiles.count >= 5)
        for name in GoldenTreeTests.exampleFiles {
            let stem = String(name.dropLast(4))
            for suffix in [".tree", ".ast"] {
                #expect(
                    FileManager.default.fileExists(
                        atPath: "\(GoldenTreeTests.goldenDirectory)/\(stem)\(suffix)"),
                    "no golden \(stem)\(suffix)")
            }
        }
    }

    @Test(arguments: exampleFiles)
    func treeMatchesGolden(name: String) throws {
        let source = try load(name)
        let file = try Parser.parseFile(source)
        let analysis = try SemanticAnalyzer.analyze([file])
        #expect(analysis.warnings.isEmpty)
        try compare(TreePrinter.dump(analysis.filterSet), golden: String(name.dropLast(4)) + ".tree")
        try compare(ASTDumper.dump(file), golden: String(name.dropLast(4)) + ".ast")
    }

    private func load(_ name: String) throws -> SourceFile {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Fixtures.filtersDirectory)/\(name)"))
        return SourceFile(name: "filters/\(name)", bytes: Array(bytes))
    }

    private func compare(_ actual: String, golden: String) throws {
        try Fixtures.expectGolden(actual, at: "Tests/DPFAnalysisTests/Golden/\(golden)")
    }
}
