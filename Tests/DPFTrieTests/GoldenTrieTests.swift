import DPFAnalysis
import DPFFilter
import DPFSyntax
import DPFTestSupport
import DPFTrie
import Foundation
import Testing

/// All example filter files merged into one trie, against its expected canonical dump.
/// `DPF_UPDATE_GOLDEN=1` rewrites the expectation; review the diff.
@Suite struct GoldenTrieTests {
    @Test func examplesMergeIntoTheGoldenTrie() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.filtersDirectory).filter {
            $0.hasSuffix(".dpf")
        }.sorted()
        let files = try names.map { name in
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(Fixtures.filtersDirectory)/\(name)"))
            return try Parser.parseFile(SourceFile(name: "filters/\(name)", bytes: Array(bytes)))
        }
        let (trie, errors) = TrieBuilder.build(try SemanticAnalyzer.analyze(files).filterSet)
        #expect(errors.isEmpty, "\(errors)")
        try Fixtures.expectGolden(trie.dump(), at: "Tests/DPFTrieTests/Golden/examples.trie")
        let statistics = trie.statistics
        #expect(statistics.filters == 13)
        #expect(statistics.hashNodes >= 5)
    }
}
