import DPFBytecode
import DPFFilter
import DPFTrie
import DPFWire

/// Why a trie could not be lowered.
public struct LoweringError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Lowers the decision trie to bytecode.
///
/// The trie becomes straight-line code with forward jumps only: each node's accepts, then for
/// each group of edges either one fused test (one equality), a hash `dispatch` (two or more) whose
/// child blocks each end with a jump past their siblings, or one fused test per range/negated
/// edge that skips its child block when it fails. A packet may take several edges at one node, and
/// the code visits every one of them in order, exactly like the trie walker. Header bases that
/// depend on the packet (DPF's shifts) are computed once, in a prologue, into base registers.
/// Filters are numbered in install order; leaves that only accept become terminal table entries;
/// an equality followed only by a nearby field's comparison coalesces into one wider load. Jump
/// threading and table sharing tidy the result.
public enum Lowering {
    public static func lower(_ trie: DecisionTrie) throws(LoweringError) -> Program {
        var lowering = try State(trie: trie)
        try lowering.assignRegisters()
        try lowering.emit(node: DecisionTrie.rootNode)
        lowering.instructions.append(Instruction(.halt))
        var program = Program(
            instructions: lowering.instructions, tables: lowering.tables, filters: lowering.filters,
            registerCount: lowering.registers.count, linkType: trie.linkType.rawValue)
        JumpThreading.apply(to: &program)
        TableSharing.apply(to: &program)
        try checkLimits(program)
        return program
    }

    /// A filter set too large for one program is the user's input, not a compiler bug: it is
    /// refused here with a message rather than by the verifier.
    static func checkLimits(_ program: Program) throws(LoweringError) {
        guard program.instructions.count <= Verifier.maximumInstructions else {
            throw LoweringError(
                message:
                    "the filters need \(program.instructions.count) instructions, more than the \(Verifier.maximumInstructions) a program may have"
            )
        }
        guard program.filters.count <= Verifier.maximumFilters else {
            throw LoweringError(
                message:
                    "\(program.filters.count) filters, more than the \(Verifier.maximumFilters) a program may have"
            )
        }
        let slots = program.tables.reduce(0) { $0 + $1.capacity }
        guard slots <= Verifier.maximumTableSlots else {
            throw LoweringError(
                message:
                    "the filters need \(slots) table slots, more than the \(Verifier.maximumTableSlots) a program may have"
            )
        }
    }

    /// Each node's view, built once: lowering looks at a node several times (registers,
    /// emission, runs, coalescing, dispatch entries), and a view sorts its edges.
    final class NodeViews {
        let trie: DecisionTrie
        /// By node index (node indices are below the trie's slot count).
        private var views: [TrieNodeView?]

        init(_ trie: DecisionTrie) {
            self.trie = trie
            views = Array(repeating: nil, count: trie.nodeSlotCount)
        }

        func callAsFunction(_ node: Int32) -> TrieNodeView {
            if let known = views[Int(node)] { return known }
            let built = trie.view(of: node)
            views[Int(node)] = built
            return built
        }
    }

    struct State {
        let trie: DecisionTrie
        let view: NodeViews
        var instructions: [Instruction] = []
        var tables: [DispatchTable] = []
        /// The installed filters in install order; a filter's program number is its position.
        let filters: [ProgramFilter]
        let filterNumbers: [FilterID: UInt32]
        /// Base register of each header base, in prologue order.
        var registers: [HeaderBase: UInt8] = [.packetStart: 0]

        init(trie: DecisionTrie) throws(LoweringError) {
            self.trie = trie
            view = NodeViews(trie)
            var filters: [ProgramFilter] = []
            var numbers: [FilterID: UInt32] = [:]
            for (id, filter) in trie.installed {
                guard let priority = UInt16(exactly: filter.priority) else {
                    throw LoweringError(
                        message: "filter '\(filter.name)' has priority \(filter.priority), outside 0...65535")
                }
                numbers[id] = UInt32(filters.count)
                filters.append(
                    ProgramFilter(
                        id: id.rawValue, name: filter.name, app: filter.app, priority: priority,
                        isTap: filter.isTap))
            }
            self.filters = filters
            filterNumbers = numbers
        }

        /// Every base the trie's fields use, registers assigned outermost first, and the prologue
        /// that computes them.
        mutating func assignRegisters() throws(LoweringError) {
            var bases = Set<HeaderBase>()
            // Every key some group tests (the trie keeps them interned), without walking the nodes.
            for key in trie.testKeysInUse {
                var base = LoadKey(key).base
                while !base.isPacketStart {
                    bases.insert(base)
                    base = base.parent
                }
            }
            for base in bases.sorted() {
                guard registers.count < Verifier.maximumRegisters else {
                    throw LoweringError(
                        message: "the filters need more than \(Verifier.maximumRegisters - 1) header bases")
                }
                let shift = base.shifts.last!
                let source = registers[base.parent]!
                let register = UInt8(registers.count)
                registers[base] = register
                guard let offset = UInt16(exactly: shift.offset) else {
                    throw LoweringError(
                        message: "a header-length load at offset \(shift.offset) leaves the packet window")
                }
                instructions.append(
                    Instruction(
                        .shift, width: UInt8(shift.width), base: source, register: register,
                        aux: UInt8(shift.scale), offset: offset,
                        mask: shift.mask))
            }
        }

        func number(of accept: TrieNodeView.Accept) -> UInt32 { filterNumbers[accept.filter]! }

        func acceptInstruction(_ accept: TrieNodeView.Accept) throws(LoweringError) -> Instruction {
            Instruction(.accept, value: number(of: accept), specificity: try specificity(of: accept))
        }

        func specificity(of accept: TrieNodeView.Accept) throws(LoweringError) -> UInt32 {
            guard let specificity = UInt32(exactly: accept.specificity),
                specificity <= Verifier.maximumSpecificity
            else {
                throw LoweringError(
                    message:
                        "a path of filter \(accept.filter.rawValue) tests \(accept.specificity) header bits, more than the \(Verifier.maximumSpecificity) a program can rank"
                )
            }
            return specificity
        }

        /// A load instruction for a field; the caller fills in the rest.
        func load(_ opcode: Instruction.Opcode, _ key: LoadKey) throws(LoweringError) -> Instruction {
            guard let offset = UInt16(exactly: key.offset) else {
                throw LoweringError(message: "a load at offset \(key.offset) leaves the packet window")
            }
            return Instruction(
                opcode, width: UInt8(key.width), base: registers[key.base]!, offset: offset, mask: key.mask)
        }

        var here: UInt32 { UInt32(instructions.count) }

        /// Bytes known captured past each base register, on every path into the code being emitted
        /// (established by `check` instructions around it).
        typealias Proven = [UInt8: Int]

        /// Emission work, done in order from a stack rather than by recursion, so a trie as deep as
        /// a chain of thousands of conjuncts lowers without exhausting the thread's stack.
        enum Work {
            /// A node: its accepts now, then its groups in order.
            case node(Int32, Proven)
            /// A group's equality edges: one test, or a dispatch.
            case equalities(TrieNodeView.Group, Proven)
            /// One of a group's other edges (a range, `!=`, a negation).
            case other(Literal, LoadKey, child: Int32, Proven)
            /// A test whose failure skips the child's block.
            case guarded(Instruction, child: Int32, Proven)
            /// Points these instructions past the block just emitted.
            case patch([Int])
            /// The next entry of dispatch `index` of `dispatches`, or its end.
            case dispatchEntry(Int)
            /// The jump that ends an entry's block in dispatch `index`.
            case exitJump(Int)
        }

        /// A dispatch whose entries are being emitted.
        struct PendingDispatch {
            let at: Int
            let table: Int
            let equalities: [(value: UInt32, child: Int32)]
            let proven: Proven
            var next = 0
            var entries: [(key: UInt32, target: UInt32)] = []
            var exits: [Int] = []
            var terminalSpecificity: UInt32?
        }

        mutating func emit(node root: Int32) throws(LoweringError) {
            var work: [Work] = [.node(root, [:])]
            var dispatches: [PendingDispatch] = []
            while let item = work.popLast() {
                switch item {
                case .node(let node, let proven):
                    let view = view(node)
                    for accept in view.accepts {
                        instructions.append(try acceptInstruction(accept))
                    }
                    var items: [Work] = []
                    for group in view.groups {
                        items.append(.equalities(group, proven))
                        for (literal, child) in group.others {
                            items.append(.other(literal, LoadKey(group.key), child: child, proven))
                        }
                    }
                    work += items.reversed()
                case .equalities(let group, let proven):
                    if group.equalities.count == 1 {
                        let (value, child) = group.equalities[0]
                        if let (load, equalities) = try coalesced(LoadKey(group.key), value, child) {
                            startEqualities(load, equalities, proven, &work, &dispatches)
                        } else {
                            startEqualities(
                                try load(.test, LoadKey(group.key)), group.equalities, proven, &work,
                                &dispatches)
                        }
                    } else if group.equalities.count >= 2 {
                        startEqualities(
                            try load(.dispatch, LoadKey(group.key)), group.equalities, proven, &work,
                            &dispatches)
                    }
                case .other(let literal, let key, let child, let proven):
                    var test = try load(literal.isNegated ? .testNot : .test, key)
                    test.relation = literal.atom.relation
                    test.value = literal.atom.value
                    work.append(.guarded(test, child: child, proven))
                case .guarded(let test, let child, let proven):
                    startGuarded(test, child: child, proven, &work)
                case .patch(let indices):
                    for index in indices { instructions[index].target = here }
                case .dispatchEntry(let index):
                    try nextEntry(of: index, &work, &dispatches)
                case .exitJump(let index):
                    dispatches[index].exits.append(instructions.count)
                    instructions.append(Instruction(.jump))
                }
            }
        }

        /// Marks a load whose bytes `proven` covers, so the interpreter skips its bounds check.
        func marked(_ instruction: Instruction, _ proven: Proven) -> Instruction {
            var instruction = instruction
            if let end = proven[instruction.base], end >= Int(instruction.offset) + Int(instruction.width) {
                instruction.aux = Instruction.boundsProven
            }
            return instruction
        }

        /// How far past each base register a straight run of positive tests starting with `test`
        /// reads: the run continues through nodes with no accepts and a single positive edge, all
        /// of which fail together if the packet is too short for any of them.
        mutating func runEnds(_ test: Instruction, child: Int32) -> (ends: Proven, loads: Int) {
            var (ends, loads) = run(from: child)
            ends[test.base] = max(ends[test.base] ?? 0, Int(test.offset) + Int(test.width))
            return (ends, loads + 1)
        }

        /// The run of nodes from `node` on (see `runEnds`), remembered per node so that the tests
        /// along one long chain do not each walk the rest of it.
        var runs: [Int32: (ends: Proven, loads: Int)] = [:]

        mutating func run(from node: Int32) -> (ends: Proven, loads: Int) {
            // Walk down to the run's end or to a node already known, then fill in upwards.
            var chain: [(node: Int32, register: UInt8, end: Int)] = []
            var node = node
            var known: (ends: Proven, loads: Int) = ([:], 0)
            while true {
                if let run = runs[node] {
                    known = run
                    break
                }
                let view = view(node)
                guard view.accepts.isEmpty, view.groups.count == 1 else { break }
                let group = view.groups[0]
                let next: Int32
                if group.equalities.count == 1 && group.others.isEmpty {
                    next = group.equalities[0].child
                } else if group.equalities.isEmpty && group.others.count == 1
                    && !group.others[0].literal.isNegated
                {
                    next = group.others[0].child
                } else {
                    break
                }
                // `assignRegisters` gave every base in the trie a register.
                let key = LoadKey(group.key)
                chain.append((node, registers[key.base]!, key.offset + key.width))
                node = next
            }
            for (node, register, end) in chain.reversed() {
                known.ends[register] = max(known.ends[register] ?? 0, end)
                known.loads += 1
                runs[node] = known
            }
            return known
        }

        /// A test whose failure skips the child's block. A positive test that starts a run of more
        /// loads than it has base registers gets one `check` per register in front, covering the
        /// whole run, and the run's loads skip their own bounds checks.
        mutating func startGuarded(_ test: Instruction, child: Int32, _ proven: Proven, _ work: inout [Work])
        {
            var proven = proven
            var checks: [Int] = []
            if test.opcode == .test {
                let (ends, loads) = runEnds(test, child: child)
                let uncovered = ends.filter { register, end in (proven[register] ?? 0) < end }
                if loads > uncovered.count && !uncovered.isEmpty {
                    for (register, end) in uncovered.sorted(by: { $0.key < $1.key }) {
                        checks.append(instructions.count)
                        instructions.append(Instruction(.check, base: register, value: UInt32(end)))
                        proven[register] = end
                    }
                }
            }
            let at = instructions.count
            instructions.append(marked(test, proven))
            work.append(.patch([at] + checks))
            work.append(.node(child, proven))
        }

        /// One test for a single equality edge, a dispatch for several.
        mutating func startEqualities(
            _ load: Instruction, _ equalities: [(value: UInt32, child: Int32)], _ proven: Proven,
            _ work: inout [Work], _ dispatches: inout [PendingDispatch]
        ) {
            if equalities.count == 1 {
                var test = load
                test.opcode = .test
                test.value = equalities[0].value
                work.append(.guarded(test, child: equalities[0].child, proven))
                return
            }
            var dispatch = marked(load, proven)
            dispatch.opcode = .dispatch
            dispatch.value = UInt32(tables.count)
            dispatches.append(
                PendingDispatch(
                    at: instructions.count, table: tables.count, equalities: equalities, proven: proven))
            tables.append(DispatchTable.build([]))  // placeholder, replaced at the dispatch's end
            instructions.append(dispatch)
            work.append(.dispatchEntry(dispatches.count - 1))
        }

        /// DPF's atom coalescing: an equality whose child does nothing but compare one nearby field
        /// of the same header base (IPv4's fragment offset, then its protocol) becomes one wider
        /// load compared against both values at once. Both loads were needed to reach anything
        /// below, and the wider one ends where the further field ends, so a short packet fails it
        /// exactly when it failed one of the two.
        func coalesced(_ key: LoadKey, _ value: UInt32, _ child: Int32) throws(LoweringError)
            -> (Instruction, [(value: UInt32, child: Int32)])?
        {
            let view = view(child)
            guard view.accepts.isEmpty, view.groups.count == 1, view.groups[0].others.isEmpty,
                !view.groups[0].equalities.isEmpty, LoadKey(view.groups[0].key).base == key.base
            else { return nil }
            let next = LoadKey(view.groups[0].key)
            let end = max(key.offset + key.width, next.offset + next.width)
            let span = end - min(key.offset, next.offset)
            guard span <= 4, let width = [1, 2, 4].first(where: { $0 >= span }), end - width >= 0 else {
                return nil
            }
            let shift = 8 * (end - key.offset - key.width)
            let nextShift = 8 * (end - next.offset - next.width)
            let mask = key.mask << shift
            let nextMask = next.mask << nextShift
            guard mask & nextMask == 0 else { return nil }
            var wide = key
            (wide.offset, wide.width, wide.mask) = (end - width, width, mask | nextMask)
            let equalities = view.groups[0].equalities.map {
                (value << shift | $0.value << nextShift, $0.child)
            }
            return (try load(.dispatch, wide), equalities)
        }

        /// The next entry of a dispatch: a leaf that only accepts lives in the table entry itself,
        /// when its specificity is the one this dispatch carries (the first such leaf's; siblings
        /// share their path, so in practice all agree); any other child gets a block that ends with
        /// a jump past its siblings. After the last entry the table is built and the jumps aimed.
        mutating func nextEntry(of index: Int, _ work: inout [Work], _ dispatches: inout [PendingDispatch])
            throws(LoweringError)
        {
            let pending = dispatches[index]
            guard pending.next < pending.equalities.count else {
                for exit in pending.exits { instructions[exit].target = here }
                instructions[pending.at].target = here
                instructions[pending.at].specificity = pending.terminalSpecificity ?? 0
                tables[pending.table] = DispatchTable.build(pending.entries)
                return
            }
            let (value, child) = pending.equalities[pending.next]
            dispatches[index].next += 1
            work.append(.dispatchEntry(index))
            let leaf = view(child)
            if leaf.groups.isEmpty && leaf.accepts.count == 1 {
                let specificity = try specificity(of: leaf.accepts[0])
                if pending.terminalSpecificity == nil { dispatches[index].terminalSpecificity = specificity }
                if dispatches[index].terminalSpecificity == specificity {
                    dispatches[index].entries.append(
                        (value, DispatchTable.terminalBit | number(of: leaf.accepts[0])))
                    return
                }
            }
            dispatches[index].entries.append((value, here))
            work.append(.exitJump(index))
            work.append(.node(child, pending.proven))
        }
    }
}

/// A trie test as the ISA loads it. Every operand is a load today, so every test is one masked
/// load; a new operand kind is taught to the lowering here.
struct LoadKey: Hashable {
    var base: HeaderBase
    var offset: Int
    var width: Int
    var mask: UInt32

    init(_ key: TestKey) {
        switch key.operand {
        case .load(let load): (base, offset, width) = (load.base, load.offset, load.width)
        }
        mask = key.mask
    }
}
