import DPFAnalysis
import DPFBytecode
import DPFEngine
import DPFSyntax
import DPFTrie
import Testing

/// Runs every engine test vector (Vectors/*.vectors, see `EngineVector`) on every engine it
/// applies to, through the shared delivery layer: filter vectors on every engine, program vectors
/// on every bytecode engine.
@Suite struct EngineVectorTests {
    static let vectors: [EngineVector] = {
        do {
            return try EngineVector.load(directory: EngineVector.directory)
        } catch {
            Issue.record("cannot load the engine vectors: \(error)")
            return []
        }
    }()

    /// Every engine, built over the filters of `trie`. A new engine joins here.
    static func engines(_ trie: DecisionTrie) throws -> [any DemuxEngine] {
        try EngineKind.allCases.map { try $0.make(trie) }
    }

    /// Every engine that runs bytecode, over a verified program. A new one joins here.
    static func bytecodeEngines(_ program: VerifiedProgram) -> [any DemuxEngine] {
        [BytecodeEngine(Interpreter(program))]
    }

    @Test func theVectorsAreThere() {
        // Both kinds, so neither list can silently go empty.
        #expect(EngineVectorTests.vectors.contains { if case .filters = $0.source { true } else { false } })
        #expect(EngineVectorTests.vectors.contains { if case .program = $0.source { true } else { false } })
        #expect(EngineVectorTests.vectors.count >= 20)
    }

    @Test(arguments: EngineVectorTests.vectors)
    func everyEngineGivesTheExpectedVerdicts(_ vector: EngineVector) throws {
        let engines: [any DemuxEngine]
        switch vector.source {
        case .filters(let text):
            let file = try Parser.parseFile(SourceFile(name: vector.name, text: text))
            let set = try SemanticAnalyzer.analyze([file]).filterSet
            let (trie, errors) = TrieBuilder.build(set)
            try #require(errors.isEmpty, "\(errors)")
            engines = try EngineVectorTests.engines(trie)
        case .program(let text):
            engines = EngineVectorTests.bytecodeEngines(try Verifier.verify(try Assembler.assemble(text)))
        }
        let batch = PacketBatch(vector.checks.map(\.packet))
        for engine in engines {
            let delivery = Delivery(engine)
            var found: [EngineVector.Expectation] = []
            delivery.deliver(batch) { packet in
                found.append(
                    EngineVector.Expectation(
                        owner: packet.owner.map { engine.filters.filters[Int($0)].name },
                        taps: packet.taps.map { engine.filters.filters[Int($0)].name }.sorted()))
            }
            for (check, verdict) in zip(vector.checks, found) {
                #expect(verdict == check.expected, "\(check.location): the \(engine.kind) engine")
            }
            #expect(found.count == vector.checks.count)
        }
    }
}
