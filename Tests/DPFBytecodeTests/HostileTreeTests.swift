import DPFBytecode
import DPFCompiler
import DPFFilter
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// Filter trees reach the trie from applications, not from the front end: built by hand,
/// un-normalised, contradictory, huge or deep. Whatever crosses `DecisionTrie.insert` goes through
/// removal, lowering, verification and the interpreter without a trap, and whatever is installed
/// runs exactly as the reference evaluator says.
@Suite struct HostileTreeTests {
    /// Hostile but well-formed trees: loads at both ends of the packet window, bases with the most
    /// shifts, contradictions and tautologies, empty conjunctions and disjunctions, and nesting.
    struct HostileTrees {
        var generator: SeededGenerator

        mutating func load() throws -> Load {
            let width = generator.pick([1, 2, 4])
            let offset =
                generator.chance(0.3)
                ? generator.pick([0, PacketLoad.window - width, PacketLoad.window - width - 1, 1 << 15])
                : Int.random(in: 0...40, using: &generator)
            var shifts: [Shift] = []
            let shiftCount =
                generator.chance(0.25) ? Int.random(in: 1...HeaderBase.maximumShifts, using: &generator) : 0
            for _ in 0..<shiftCount {
                shifts.append(
                    try Shift(
                        offset: Int.random(in: 0...20, using: &generator), width: generator.pick([1, 2, 4]),
                        mask: generator.pick([0x0F, 0xFF, .max, 0]),
                        scale: Int.random(in: 0...3, using: &generator)))
            }
            return try Load(base: HeaderBase(shifts), offset: offset, width: width)
        }

        mutating func atom() throws -> Atom {
            let value = generator.pick([
                0, 1, 5, 0xFF, 0xFFFF, .max, UInt32.random(in: 0...9, using: &generator),
            ])
            return Atom(
                .load(try load()), mask: generator.chance(0.3) ? generator.pick([0, 0x0F, .max]) : nil,
                relation: generator.pick(Relation.allCases), value: value)
        }

        mutating func tree(depth: Int) throws -> FilterTree {
            if depth == 0 || generator.chance(0.25) {
                if generator.chance(0.1) { return .constant(generator.chance(0.5)) }
                if generator.chance(0.1) { return generator.chance(0.5) ? .and([]) : .or([]) }
                return .atom(try atom())
            }
            let count = Int.random(in: 0...4, using: &generator)
            var children: [FilterTree] = []
            for _ in 0..<count { children.append(try tree(depth: depth - 1)) }
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: return .not(children.first ?? .and([]))
            case 1, 2: return .and(children)
            default: return .or(children)
            }
        }
    }

    @Test(arguments: 0..<4)
    func randomHostileTreesNeverTrap(seed: UInt64) throws {
        var trees = HostileTrees(generator: SeededGenerator(seed: 0xBAD + seed))
        var source = RandomPackets(seed: 0xFEED + seed)
        let edges: [[UInt8]] = [[], [0x45], [UInt8](repeating: 0xFF, count: 300)]
        let packets = source.batch(48) + edges.map { Packet(bytes: $0) }
        let trie = DecisionTrie()
        var installed: [String] = []
        var refusals = 0
        for index in 0..<60 {
            let name = "f\(index)"
            do {
                try trie.insert(
                    name: name, app: "app\(index % 7)",
                    priority: Int.random(in: 0...2, using: &trees.generator),
                    isTap: trees.generator.chance(0.3), tree: try trees.tree(depth: 5))
                installed.append(name)
            } catch {
                refusals += 1
            }
            if !installed.isEmpty, trees.generator.chance(0.2) {
                try trie.remove(
                    named: installed.remove(at: Int.random(in: 0..<installed.count, using: &trees.generator)))
            }
            if index % 15 == 14 { try expectEnginesAgree(trie, packets) }
        }
        #expect(installed.count > 10, "only \(installed.count) filters installed, \(refusals) refused")
        try expectEnginesAgree(trie, packets)
    }

    /// The reshaping issue's example: built through the API rather than the language, the
    /// contradiction once underflowed the normaliser's interval arithmetic.
    @Test func contradictionsBuiltByHandAreInstalledAsNeverMatching() throws {
        let byte = try Load(offset: 0, width: 1)
        let trie = DecisionTrie()
        try trie.insert(
            name: "never", app: "a",
            tree: .and([
                .atom(Atom(.load(byte), relation: .less, value: 0)),
                .atom(Atom(.load(byte), relation: .greater, value: 5)),
            ]))
        try trie.insert(
            name: "wide", app: "b", tree: .atom(Atom(.load(byte), relation: .greater, value: .max)))
        #expect(trie.referenceVerdicts(for: [Packet(bytes: [9])]) == [Verdict()])
        #expect(
            Normalizer.relate(
                fact: Atom(.load(byte), relation: .less, value: 0), atom: Atom(.load(byte), value: 3)) == nil)
        try expectEnginesAgree(trie, [Packet(bytes: [9]), Packet(bytes: [])])
    }

    @Test func impossibleLoadsCannotBeBuilt() {
        #expect(throws: FilterError.self) { try Load(offset: 0, width: 3) }
        #expect(throws: FilterError.self) { try Load(offset: -1, width: 1) }
        #expect(throws: FilterError.self) { try Load(offset: PacketLoad.window - 1, width: 2) }
        #expect(throws: FilterError.self) { try Load(offset: Int.max, width: 4) }
        #expect(throws: FilterError.self) { try Shift(offset: 0, width: 1, mask: 0xF, scale: 4) }
        #expect(throws: FilterError.self) { try Shift(offset: Int.min, width: 1, mask: 0xF, scale: 0) }
        let shift = try? Shift(offset: 0, width: 1, mask: 0x0F, scale: 2)
        #expect(throws: FilterError.self) {
            try HeaderBase(Array(repeating: shift!, count: HeaderBase.maximumShifts + 1))
        }
        // A mask keeps only the bits its load has.
        #expect((try? Atom(offset: 0, width: 1, mask: 0xFFFF_FF0F, value: 1))?.mask == 0x0F)
    }

    @Test func deepAndHugeTreesAreRefusedWithTypedErrors() throws {
        let atom = FilterTree.atom(try Atom(offset: 0, width: 1, value: 1))
        var deep = atom
        for level in 0..<(FilterTree.maximumDepth + 50) {
            deep = level.isMultiple(of: 2) ? .not(deep) : .and([deep, atom])
        }
        var shallowEnough = atom
        for _ in 0..<(FilterTree.maximumDepth - 1) { shallowEnough = .or([shallowEnough]) }
        let huge = FilterTree.or(Array(repeating: atom, count: FilterTree.maximumNodes))
        let trie = DecisionTrie()
        for (name, tree) in [("deep", deep), ("huge", huge)] {
            let error = try #require(throws: TrieError.self) {
                try trie.insert(name: name, app: "a", tree: tree)
            }
            #expect(error.kind == .invalidFilter)
            #expect(error.message.contains("'\(name)'"))
        }
        try trie.insert(name: "shallow", app: "a", tree: shallowEnough)
        #expect(trie.referenceVerdicts(for: [Packet(bytes: [1])]).first?.owner != nil)
        try expectEnginesAgree(trie, [Packet(bytes: [1]), Packet(bytes: [2])])
    }

    /// A long conjunction of exclusions of one field, and of loads of many fields, normalises in
    /// linear rather than quadratic time (a hang would show as a timeout in CI).
    @Test func longConjunctionsAreAdmitted() throws {
        let byte = try Load(offset: 10, width: 2)
        let exclusions = FilterTree.and(
            (0..<4000).map { .atom(Atom(.load(byte), relation: .notEqual, value: UInt32($0))) })
        var loads: [FilterTree] = []
        for offset in 0..<4000 {
            loads.append(.atom(try Atom(offset: offset, width: 1, relation: .notEqual, value: 7)))
        }
        let trie = DecisionTrie()
        try trie.insert(name: "exclusions", app: "a", tree: exclusions)
        try trie.insert(name: "loads", app: "b", isTap: true, tree: .and(loads))
        var packet = [UInt8](repeating: 0, count: 4000)
        packet[10] = 0xFF
        #expect(trie.verdict(bytes: packet).owner != nil)
        #expect(trie.verdict(bytes: packet).taps.count == 1)
    }

    /// Pairwise comparisons of atoms are quadratic at worst (equalities of one field under
    /// thousands of different masks); a budget bounds them, and a filter that needs more is
    /// refused with a typed error rather than left to run for minutes.
    @Test func workBeyondTheBudgetIsRefused() throws {
        let word = try Load(offset: 0, width: 4)
        let masks = (0..<3000).map { UInt32(0x0001_0001) << UInt32($0 % 16) | UInt32($0) << 16 }
        let tree = FilterTree.and(
            masks.map { .atom(Atom(.load(word), mask: $0, relation: .notEqual, value: $0 & 1)) })
        #expect(throws: FilterError.self) { try tree.admitted(within: WorkBudget(steps: 100_000)) }
        #expect(throws: ExpansionError.tooComplex) {
            try PathExpansion.paths(of: try tree.admitted(), within: WorkBudget(steps: 1000))
        }
        let fewer = FilterTree.and(
            masks.prefix(300).map { .atom(Atom(.load(word), mask: $0, relation: .notEqual, value: $0 & 1)) })
        let trie = DecisionTrie()
        try trie.insert(name: "masks", app: "a", tree: fewer)
        #expect(trie.filterCount == 1)
    }

    /// Lowers and verifies (a typed error is fine, a trap is not), then checks the trie walker and
    /// the interpreter against the reference delivery on every packet.
    func expectEnginesAgree(_ trie: DecisionTrie, _ packets: [Packet]) throws {
        let expected = trie.referenceVerdicts(for: packets)
        for (packet, verdict) in zip(packets, expected) {
            #expect(trie.verdict(for: packet) == verdict)
        }
        let verified: VerifiedProgram
        do {
            verified = try Compiler.compile(trie)
        } catch {
            guard case .lowering = error else {
                Issue.record("compiled code refused by the verifier: \(error)")
                return
            }
            return
        }
        let program = ProgramVerdicts(Interpreter(verified))
        for (packet, verdict) in zip(packets, expected) {
            #expect(program.verdict(packet.bytes) == verdict)
        }
    }
}
