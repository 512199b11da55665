/// One instruction decoded for execution: what the interpreter runs, and what native code (a later
/// x86-64 backend) reads instead of re-deriving the interpreter's semantics. The opcode is
/// specialised into a `Kind` by load width, load mode and table layout; a relation is folded into
/// one unsigned range compare; table parameters are inlined; jump targets are byte offsets of
/// steps (`target * DecodedStep.size`). 32 bytes, so two steps share a cache line.
///
/// Steps exist only inside a `DecodedProgram`, which builds them from a verified program: the
/// verifier bounds every field below (widths in 1, 2 and 4, offsets and targets in range).
public struct DecodedStep: Sendable {
    /// Bytes per step; step `i` starts at byte `i * size` of `DecodedProgram.steps`.
    public static let size = 32

    public private(set) var kind: Kind
    /// Base register of the load (0, the packet start, for the absolute modes).
    public private(set) var base: UInt8
    /// Load width in bytes (1, 2 or 4; 0 for steps that load nothing). A probing dispatch reads
    /// it at run time; the other kinds carry it in their `Kind`.
    public private(set) var width: UInt8
    /// Tests: the range holds when the value lies *outside* [low, low + span].
    public private(set) var outside: Bool
    public private(set) var offset: UInt16
    /// Accepts and dispatches with terminal entries: the path's specificity (the verifier keeps it
    /// within 16 bits).
    public private(set) var specificity: UInt16
    public private(set) var mask: UInt32
    /// Tests: range start. Dispatch: the table's first slot in its buffer. Pair: the first key.
    /// Accept: the filter. Check: bytes. Shift: destination register.
    public private(set) var operand: UInt32
    /// Tests: range length minus one. Direct: slot count. Hashed: 64 minus log2 of the slot count.
    /// Pair: the second key. Shift: scale.
    public private(set) var span: UInt32
    /// Where a failed test or check, a missed dispatch or a jump goes, as a byte offset of a step.
    public private(set) var target: UInt32
    /// Hashed dispatch: the multiplier. Direct: the first key. Pair: the first key's target in the
    /// low half, the second's in the high half.
    public private(set) var parameter: UInt64

    /// Decodes `instruction` of a verified program whose targets are already byte offsets;
    /// `tableStarts[t]` is table `t`'s first slot in its layout's buffer.
    init(_ instruction: Instruction, tables: [DispatchTable], tableStarts: [Int]) {
        kind = .halt
        base = instruction.base
        width = instruction.width
        outside = false
        offset = instruction.offset
        specificity = UInt16(truncatingIfNeeded: instruction.specificity)
        mask = instruction.mask
        operand = 0
        span = 0
        target = instruction.target
        parameter = 0
        let width = Width(verified: instruction.width)
        let mode = LoadMode(isAbsolute: instruction.base == 0, isBoundsProven: instruction.isBoundsProven)
        switch instruction.opcode {
        case .shift:
            kind = Kind(.shift(width))
            operand = UInt32(instruction.register)
            span = UInt32(instruction.aux)
        case .test, .testNot:
            kind = Kind(.load(instruction.opcode == .test ? .test : .testNot, width, mode))
            (operand, span, outside) = DecodedStep.range(instruction.relation, instruction.value)
        case .dispatch:
            let table = tables[Int(instruction.value)]
            operand = UInt32(tableStarts[Int(instruction.value)])
            parameter = table.parameter
            let entries = table.entries
            if entries.count <= 2 {
                kind = Kind(.load(.pair, width, mode))
                // An absent second entry repeats the first.
                let first = entries.first ?? (0, DispatchTable.empty)
                let second = entries.count == 2 ? entries[1] : first
                (operand, span) = (first.key, second.key)
                parameter = UInt64(second.target) << 32 | UInt64(first.target)
                return
            }
            switch table.layout {
            case .collisionFree:
                kind = Kind(.load(.exact, width, mode))
                span = UInt32(table.shift)
            case .direct:
                kind = Kind(.load(.direct, width, mode))
                span = UInt32(table.capacity)
            case .probing:
                kind = Kind(.probing)
                span = UInt32(table.shift)
            }
        case .accept:
            kind = Kind(.accept)
            operand = instruction.value
        case .jump:
            kind = Kind(.jump)
        case .check:
            kind = Kind(.check)
            operand = instruction.value
        case .halt:
            kind = Kind(.halt)
        }
    }

    /// A relation against `value` as the unsigned range [low, low + span], or its complement.
    public static func range(_ relation: Instruction.Relation, _ value: UInt32) -> (
        low: UInt32, span: UInt32, outside: Bool
    ) {
        let never: (UInt32, UInt32, Bool) = (0, .max, true)
        switch relation {
        case .equal: return (value, 0, false)
        case .notEqual: return (value, 0, true)
        case .less: return value == 0 ? never : (0, value - 1, false)
        case .lessOrEqual: return (0, value, false)
        case .greater: return value == .max ? never : (value + 1, .max - value - 1, false)
        case .greaterOrEqual: return (value, .max - value, false)
        }
    }

    /// Whether a test's masked load `value` satisfies its relation: one unsigned compare.
    @inline(__always)
    public static func holds(_ value: UInt32, low: UInt32, span: UInt32, outside: Bool) -> Bool {
        (value &- low <= span) != outside
    }

    /// Whether this step's relation holds for `value` (tests only).
    public func holds(_ value: UInt32) -> Bool {
        DecodedStep.holds(value, low: operand, span: span, outside: outside)
    }
}

// MARK: - Kinds and shapes

extension DecodedStep {
    /// Load width of a specialised step.
    public enum Width: UInt8, Sendable, CaseIterable {
        case one = 1, two = 2, four = 4

        /// The width of a verified load (1, 2 or 4); the verifier refuses any other.
        init(verified bytes: UInt8) {
            self = bytes == 1 ? .one : bytes == 2 ? .two : .four
        }

        public var bytes: Int { Int(rawValue) }
    }

    /// How a load finds its bytes: through its base register or at its offset alone (register 0,
    /// the packet start, is always 0), and checked against the packet length or proven inside it
    /// by an earlier `check` (the verifier proves the claim on every path).
    public enum LoadMode: Sendable, CaseIterable {
        case checked, proven, absolute, absoluteProven

        public init(isAbsolute: Bool, isBoundsProven: Bool) {
            self =
                isAbsolute
                ? (isBoundsProven ? .absoluteProven : .absolute) : (isBoundsProven ? .proven : .checked)
        }

        /// The load reads at its offset alone, without its base register.
        public var isAbsolute: Bool { self == .absolute || self == .absoluteProven }
        /// The load is compared against the packet length before it reads.
        public var isChecked: Bool { self == .checked || self == .absolute }
    }

    /// What a step does, before specialisation.
    public enum Operation: Sendable, CaseIterable {
        /// `R[dst] = R[base] + ((load & mask) << scale)`, or unreadable when the load is.
        case shift
        /// Continue when the relation holds; otherwise jump (also when unreadable).
        case test
        /// Jump when the relation holds; otherwise continue (also when unreadable).
        case testNot
        /// Dispatch through a collision-free hashed table: one multiply, one shift, one compare.
        case exact
        /// Dispatch through a direct table: slot `key - firstKey`.
        case direct
        /// Dispatch through a table of one or two entries, compared in place.
        case pair
        /// Dispatch through a hashed table with linear probing; loads `width` bytes, checked.
        case probing
        /// Offer a filter as owner (or, for a tap, a copy).
        case accept
        case jump
        /// Continue when `R[base] + operand` bytes were captured; otherwise jump.
        case check
        case halt
    }

    /// The operations specialised by both width and load mode.
    public enum Load: Sendable, CaseIterable {
        case test, testNot, exact, direct, pair

        public var operation: Operation {
            switch self {
            case .test: .test
            case .testNot: .testNot
            case .exact: .exact
            case .direct: .direct
            case .pair: .pair
            }
        }
    }

    /// A kind's meaning: its operation with the width and load mode it is specialised for. Shifts
    /// are specialised by width only (they load through their base register, checked); probing
    /// dispatches, accepts, jumps, checks and halts by neither.
    public enum Shape: Hashable, Sendable, CaseIterable {
        case shift(Width)
        case load(Load, Width, LoadMode)
        case probing, accept, jump, check, halt

        /// Every shape, from the product of operations, widths and modes (not from `Kind`).
        public static var allCases: [Shape] {
            Width.allCases.map { .shift($0) }
                + Load.allCases.flatMap { load in
                    LoadMode.allCases.flatMap { mode in Width.allCases.map { .load(load, $0, mode) } }
                } + [.probing, .accept, .jump, .check, .halt]
        }

        /// The shape of `operation` specialised to `width` and `mode`, or nil when no kind has that
        /// shape (a width or mode given where the operation takes none, or missing where it does).
        public init?(operation: Operation, width: Width?, mode: LoadMode?) {
            switch (operation, width, mode) {
            case (.shift, let width?, nil): self = .shift(width)
            case (.test, let width?, let mode?): self = .load(.test, width, mode)
            case (.testNot, let width?, let mode?): self = .load(.testNot, width, mode)
            case (.exact, let width?, let mode?): self = .load(.exact, width, mode)
            case (.direct, let width?, let mode?): self = .load(.direct, width, mode)
            case (.pair, let width?, let mode?): self = .load(.pair, width, mode)
            case (.probing, nil, nil): self = .probing
            case (.accept, nil, nil): self = .accept
            case (.jump, nil, nil): self = .jump
            case (.check, nil, nil): self = .check
            case (.halt, nil, nil): self = .halt
            default: return nil
            }
        }

        public var operation: Operation {
            switch self {
            case .shift: .shift
            case .load(let load, _, _): load.operation
            case .probing: .probing
            case .accept: .accept
            case .jump: .jump
            case .check: .check
            case .halt: .halt
            }
        }

        /// The width the kind is specialised for, if any.
        public var width: Width? {
            switch self {
            case .shift(let width), .load(_, let width, _): width
            case .probing, .accept, .jump, .check, .halt: nil
            }
        }

        /// The load mode the kind is specialised for, if any.
        public var mode: LoadMode? {
            switch self {
            case .load(_, _, let mode): mode
            case .shift, .probing, .accept, .jump, .check, .halt: nil
            }
        }
    }

    /// The step kinds the interpreter switches on, one per `Shape`. The cases, `init(_:)`, `shape`
    /// and the interpreter's dispatch arms are generated from one table in
    /// Tests/DPFBytecodeTests/StepKindTable.swift; edit the table and run
    /// `DPF_UPDATE_GOLDEN=1 swift test --filter StepKindTable` to rewrite them. Raw values follow
    /// declaration order, which a change to the table may change: persist shapes rather than raw
    /// values, and find a kind with `init(_:)`, never by arithmetic on raw values.
    public enum Kind: UInt8, Sendable, CaseIterable {
        // BEGIN GENERATED kinds
        case shift1, shift2, shift4
        case test1, test2, test4
        case test1Proven, test2Proven, test4Proven
        case test1Absolute, test2Absolute, test4Absolute
        case test1AbsoluteProven, test2AbsoluteProven, test4AbsoluteProven
        case testNot1, testNot2, testNot4
        case testNot1Proven, testNot2Proven, testNot4Proven
        case testNot1Absolute, testNot2Absolute, testNot4Absolute
        case testNot1AbsoluteProven, testNot2AbsoluteProven, testNot4AbsoluteProven
        case exact1, exact2, exact4
        case exact1Proven, exact2Proven, exact4Proven
        case exact1Absolute, exact2Absolute, exact4Absolute
        case exact1AbsoluteProven, exact2AbsoluteProven, exact4AbsoluteProven
        case direct1, direct2, direct4
        case direct1Proven, direct2Proven, direct4Proven
        case direct1Absolute, direct2Absolute, direct4Absolute
        case direct1AbsoluteProven, direct2AbsoluteProven, direct4AbsoluteProven
        case pair1, pair2, pair4
        case pair1Proven, pair2Proven, pair4Proven
        case pair1Absolute, pair2Absolute, pair4Absolute
        case pair1AbsoluteProven, pair2AbsoluteProven, pair4AbsoluteProven
        case probing
        case accept
        case jump
        case check
        case halt
        // END GENERATED kinds
    }
}

extension DecodedStep.Kind {
    /// The kind of a shape (total: every shape has exactly one kind).
    public init(_ shape: DecodedStep.Shape) {
        // BEGIN GENERATED init
        switch shape {
        case .shift(.one): self = .shift1
        case .shift(.two): self = .shift2
        case .shift(.four): self = .shift4
        case .load(.test, .one, .checked): self = .test1
        case .load(.test, .two, .checked): self = .test2
        case .load(.test, .four, .checked): self = .test4
        case .load(.test, .one, .proven): self = .test1Proven
        case .load(.test, .two, .proven): self = .test2Proven
        case .load(.test, .four, .proven): self = .test4Proven
        case .load(.test, .one, .absolute): self = .test1Absolute
        case .load(.test, .two, .absolute): self = .test2Absolute
        case .load(.test, .four, .absolute): self = .test4Absolute
        case .load(.test, .one, .absoluteProven): self = .test1AbsoluteProven
        case .load(.test, .two, .absoluteProven): self = .test2AbsoluteProven
        case .load(.test, .four, .absoluteProven): self = .test4AbsoluteProven
        case .load(.testNot, .one, .checked): self = .testNot1
        case .load(.testNot, .two, .checked): self = .testNot2
        case .load(.testNot, .four, .checked): self = .testNot4
        case .load(.testNot, .one, .proven): self = .testNot1Proven
        case .load(.testNot, .two, .proven): self = .testNot2Proven
        case .load(.testNot, .four, .proven): self = .testNot4Proven
        case .load(.testNot, .one, .absolute): self = .testNot1Absolute
        case .load(.testNot, .two, .absolute): self = .testNot2Absolute
        case .load(.testNot, .four, .absolute): self = .testNot4Absolute
        case .load(.testNot, .one, .absoluteProven): self = .testNot1AbsoluteProven
        case .load(.testNot, .two, .absoluteProven): self = .testNot2AbsoluteProven
        case .load(.testNot, .four, .absoluteProven): self = .testNot4AbsoluteProven
        case .load(.exact, .one, .checked): self = .exact1
        case .load(.exact, .two, .checked): self = .exact2
        case .load(.exact, .four, .checked): self = .exact4
        case .load(.exact, .one, .proven): self = .exact1Proven
        case .load(.exact, .two, .proven): self = .exact2Proven
        case .load(.exact, .four, .proven): self = .exact4Proven
        case .load(.exact, .one, .absolute): self = .exact1Absolute
        case .load(.exact, .two, .absolute): self = .exact2Absolute
        case .load(.exact, .four, .absolute): self = .exact4Absolute
        case .load(.exact, .one, .absoluteProven): self = .exact1AbsoluteProven
        case .load(.exact, .two, .absoluteProven): self = .exact2AbsoluteProven
        case .load(.exact, .four, .absoluteProven): self = .exact4AbsoluteProven
        case .load(.direct, .one, .checked): self = .direct1
        case .load(.direct, .two, .checked): self = .direct2
        case .load(.direct, .four, .checked): self = .direct4
        case .load(.direct, .one, .proven): self = .direct1Proven
        case .load(.direct, .two, .proven): self = .direct2Proven
        case .load(.direct, .four, .proven): self = .direct4Proven
        case .load(.direct, .one, .absolute): self = .direct1Absolute
        case .load(.direct, .two, .absolute): self = .direct2Absolute
        case .load(.direct, .four, .absolute): self = .direct4Absolute
        case .load(.direct, .one, .absoluteProven): self = .direct1AbsoluteProven
        case .load(.direct, .two, .absoluteProven): self = .direct2AbsoluteProven
        case .load(.direct, .four, .absoluteProven): self = .direct4AbsoluteProven
        case .load(.pair, .one, .checked): self = .pair1
        case .load(.pair, .two, .checked): self = .pair2
        case .load(.pair, .four, .checked): self = .pair4
        case .load(.pair, .one, .proven): self = .pair1Proven
        case .load(.pair, .two, .proven): self = .pair2Proven
        case .load(.pair, .four, .proven): self = .pair4Proven
        case .load(.pair, .one, .absolute): self = .pair1Absolute
        case .load(.pair, .two, .absolute): self = .pair2Absolute
        case .load(.pair, .four, .absolute): self = .pair4Absolute
        case .load(.pair, .one, .absoluteProven): self = .pair1AbsoluteProven
        case .load(.pair, .two, .absoluteProven): self = .pair2AbsoluteProven
        case .load(.pair, .four, .absoluteProven): self = .pair4AbsoluteProven
        case .probing: self = .probing
        case .accept: self = .accept
        case .jump: self = .jump
        case .check: self = .check
        case .halt: self = .halt
        }
        // END GENERATED init
    }

    /// What the kind does: its operation, width and load mode.
    public var shape: DecodedStep.Shape {
        // BEGIN GENERATED shape
        switch self {
        case .shift1: .shift(.one)
        case .shift2: .shift(.two)
        case .shift4: .shift(.four)
        case .test1: .load(.test, .one, .checked)
        case .test2: .load(.test, .two, .checked)
        case .test4: .load(.test, .four, .checked)
        case .test1Proven: .load(.test, .one, .proven)
        case .test2Proven: .load(.test, .two, .proven)
        case .test4Proven: .load(.test, .four, .proven)
        case .test1Absolute: .load(.test, .one, .absolute)
        case .test2Absolute: .load(.test, .two, .absolute)
        case .test4Absolute: .load(.test, .four, .absolute)
        case .test1AbsoluteProven: .load(.test, .one, .absoluteProven)
        case .test2AbsoluteProven: .load(.test, .two, .absoluteProven)
        case .test4AbsoluteProven: .load(.test, .four, .absoluteProven)
        case .testNot1: .load(.testNot, .one, .checked)
        case .testNot2: .load(.testNot, .two, .checked)
        case .testNot4: .load(.testNot, .four, .checked)
        case .testNot1Proven: .load(.testNot, .one, .proven)
        case .testNot2Proven: .load(.testNot, .two, .proven)
        case .testNot4Proven: .load(.testNot, .four, .proven)
        case .testNot1Absolute: .load(.testNot, .one, .absolute)
        case .testNot2Absolute: .load(.testNot, .two, .absolute)
        case .testNot4Absolute: .load(.testNot, .four, .absolute)
        case .testNot1AbsoluteProven: .load(.testNot, .one, .absoluteProven)
        case .testNot2AbsoluteProven: .load(.testNot, .two, .absoluteProven)
        case .testNot4AbsoluteProven: .load(.testNot, .four, .absoluteProven)
        case .exact1: .load(.exact, .one, .checked)
        case .exact2: .load(.exact, .two, .checked)
        case .exact4: .load(.exact, .four, .checked)
        case .exact1Proven: .load(.exact, .one, .proven)
        case .exact2Proven: .load(.exact, .two, .proven)
        case .exact4Proven: .load(.exact, .four, .proven)
        case .exact1Absolute: .load(.exact, .one, .absolute)
        case .exact2Absolute: .load(.exact, .two, .absolute)
        case .exact4Absolute: .load(.exact, .four, .absolute)
        case .exact1AbsoluteProven: .load(.exact, .one, .absoluteProven)
        case .exact2AbsoluteProven: .load(.exact, .two, .absoluteProven)
        case .exact4AbsoluteProven: .load(.exact, .four, .absoluteProven)
        case .direct1: .load(.direct, .one, .checked)
        case .direct2: .load(.direct, .two, .checked)
        case .direct4: .load(.direct, .four, .checked)
        case .direct1Proven: .load(.direct, .one, .proven)
        case .direct2Proven: .load(.direct, .two, .proven)
        case .direct4Proven: .load(.direct, .four, .proven)
        case .direct1Absolute: .load(.direct, .one, .absolute)
        case .direct2Absolute: .load(.direct, .two, .absolute)
        case .direct4Absolute: .load(.direct, .four, .absolute)
        case .direct1AbsoluteProven: .load(.direct, .one, .absoluteProven)
        case .direct2AbsoluteProven: .load(.direct, .two, .absoluteProven)
        case .direct4AbsoluteProven: .load(.direct, .four, .absoluteProven)
        case .pair1: .load(.pair, .one, .checked)
        case .pair2: .load(.pair, .two, .checked)
        case .pair4: .load(.pair, .four, .checked)
        case .pair1Proven: .load(.pair, .one, .proven)
        case .pair2Proven: .load(.pair, .two, .proven)
        case .pair4Proven: .load(.pair, .four, .proven)
        case .pair1Absolute: .load(.pair, .one, .absolute)
        case .pair2Absolute: .load(.pair, .two, .absolute)
        case .pair4Absolute: .load(.pair, .four, .absolute)
        case .pair1AbsoluteProven: .load(.pair, .one, .absoluteProven)
        case .pair2AbsoluteProven: .load(.pair, .two, .absoluteProven)
        case .pair4AbsoluteProven: .load(.pair, .four, .absoluteProven)
        case .probing: .probing
        case .accept: .accept
        case .jump: .jump
        case .check: .check
        case .halt: .halt
        }
        // END GENERATED shape
    }
}
