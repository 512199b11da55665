import DPFBytecode
import DPFFilter
import DPFTrie

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
        return program
    }

    struct State {
        let trie: DecisionTrie
        var instructions: [Instruction] = []
        var tables: [DispatchTable] = []
        /// The installed filters in install order; a filter's program number is its position.
        let filters: [ProgramFilter]
        let filterNumbers: [FilterID: UInt32]
        /// Base register of each header base, in prologue order.
        var registers: [HeaderBase: UInt8] = [.packetStart: 0]

        init(trie: DecisionTrie) throws(LoweringError) {
            self.trie = trie
            var filters: [ProgramFilter] = []
            var numbers: [FilterID: UInt32] = [:]
            for (id, filter) in trie.installed {
                guard let priority = UInt16(exactly: filter.priority) else {
                    throw LoweringError(
                        message: "filter '\(filter.name)' has priority \(filter.priority), outside 0...65535")
                }
                numbers[id] = UInt32(filters.count)
                filters.append(
                    ProgramFilter(name: filter.name, app: filter.app, priority: priority, isTap: filter.isTap)
                )
            }
            self.filters = filters
            filterNumbers = numbers
        }

        /// Every base the trie's fields use, registers assigned outermost first, and the prologue
        /// that computes them.
        mutating func assignRegisters() throws(LoweringError) {
            var bases = Set<HeaderBase>()
            var pending = [DecisionTrie.rootNode]
            while let node = pending.popLast() {
                for group in trie.view(of: node).groups {
                    var base = group.key.base
                    while !base.isPacketStart {
                        bases.insert(base)
                        base = base.parent
                    }
                    pending += group.equalities.map(\.child) + group.others.map(\.child)
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
        func load(_ opcode: Instruction.Opcode, _ key: TestKey) throws(LoweringError) -> Instruction {
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

        mutating func emit(node: Int32, proven: Proven = [:]) throws(LoweringError) {
            let view = trie.view(of: node)
            for accept in view.accepts {
                instructions.append(try acceptInstruction(accept))
            }
            for group in view.groups {
                if group.equalities.count == 1 {
                    let (value, child) = group.equalities[0]
                    if let (load, equalities) = try coalesced(group.key, value, child) {
                        try emitEqualities(load, equalities, proven: proven)
                    } else {
                        try emitEqualities(try load(.test, group.key), group.equalities, proven: proven)
                    }
                } else if group.equalities.count >= 2 {
                    try emitEqualities(try load(.dispatch, group.key), group.equalities, proven: proven)
                }
                for (literal, child) in group.others {
                    var test = try load(literal.isNegated ? .testNot : .test, group.key)
                    test.relation = Instruction.Relation(literal.atom.relation)
                    test.value = literal.atom.value
                    try emitGuarded(test, child: child, proven: proven)
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
        func runEnds(_ test: Instruction, child: Int32) -> (ends: Proven, loads: Int) {
            var ends: Proven = [test.base: Int(test.offset) + Int(test.width)]
            var loads = 1
            var node = child
            while true {
                let view = trie.view(of: node)
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
                let register = registers[group.key.base]!
                ends[register] = max(ends[register] ?? 0, group.key.offset + group.key.width)
                loads += 1
                node = next
            }
            return (ends, loads)
        }

        /// A test whose failure skips the child's block. A positive test that starts a run of more
        /// loads than it has base registers gets one `check` per register in front, covering the
        /// whole run, and the run's loads skip their own bounds checks.
        mutating func emitGuarded(_ test: Instruction, child: Int32, proven: Proven) throws(LoweringError) {
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
            try emit(node: child, proven: proven)
            instructions[at].target = here
            for check in checks { instructions[check].target = here }
        }

        /// One test for a single equality edge, a dispatch for several.
        mutating func emitEqualities(
            _ load: Instruction, _ equalities: [(value: UInt32, child: Int32)], proven: Proven
        ) throws(LoweringError) {
            if equalities.count == 1 {
                var test = load
                test.opcode = .test
                test.value = equalities[0].value
                try emitGuarded(test, child: equalities[0].child, proven: proven)
            } else {
                var dispatch = load
                dispatch.opcode = .dispatch
                try emitDispatch(dispatch, equalities, proven: proven)
            }
        }

        /// DPF's atom coalescing: an equality whose child does nothing but compare one nearby field
        /// of the same header base (IPv4's fragment offset, then its protocol) becomes one wider
        /// load compared against both values at once. Both loads were needed to reach anything
        /// below, and the wider one ends where the further field ends, so a short packet fails it
        /// exactly when it failed one of the two.
        func coalesced(_ key: TestKey, _ value: UInt32, _ child: Int32) throws(LoweringError)
            -> (Instruction, [(value: UInt32, child: Int32)])?
        {
            let view = trie.view(of: child)
            guard view.accepts.isEmpty, view.groups.count == 1, view.groups[0].others.isEmpty,
                !view.groups[0].equalities.isEmpty, view.groups[0].key.base == key.base
            else { return nil }
            let next = view.groups[0].key
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

        mutating func emitDispatch(
            _ load: Instruction, _ equalities: [(value: UInt32, child: Int32)], proven: Proven
        ) throws(LoweringError) {
            let at = instructions.count
            var dispatch = marked(load, proven)
            dispatch.value = UInt32(tables.count)
            tables.append(DispatchTable.build([]))  // placeholder, replaced below
            instructions.append(dispatch)
            var entries: [(key: UInt32, target: UInt32)] = []
            var exits: [Int] = []
            var terminalSpecificity: UInt32?
            for (value, child) in equalities {
                let leaf = trie.view(of: child)
                // A leaf that only accepts lives in the table entry itself, when its specificity is
                // the one this dispatch carries (the first such leaf's; siblings share their path, so
                // in practice all agree).
                if leaf.groups.isEmpty && leaf.accepts.count == 1 {
                    let specificity = try specificity(of: leaf.accepts[0])
                    if terminalSpecificity == nil { terminalSpecificity = specificity }
                    if terminalSpecificity == specificity {
                        entries.append((value, DispatchTable.terminalBit | number(of: leaf.accepts[0])))
                        continue
                    }
                }
                entries.append((value, here))
                try emit(node: child, proven: proven)
                exits.append(instructions.count)
                instructions.append(Instruction(.jump))
            }
            for exit in exits { instructions[exit].target = here }
            instructions[at].target = here
            instructions[at].specificity = terminalSpecificity ?? 0
            tables[Int(dispatch.value)] = DispatchTable.build(entries)
        }
    }
}

extension Instruction.Relation {
    init(_ relation: Relation) {
        switch relation {
        case .equal: self = .equal
        case .notEqual: self = .notEqual
        case .less: self = .less
        case .lessOrEqual: self = .lessOrEqual
        case .greater: self = .greater
        case .greaterOrEqual: self = .greaterOrEqual
        }
    }
}
