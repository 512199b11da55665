import DPFWire

/// One fixed-width (24-byte) instruction word with pre-decoded operands. The ISA is built for
/// demultiplexing, not general computation: fused load–mask–compare–branch tests, hash dispatch,
/// packet-derived base registers, and accept records. Every jump goes forward, so every run ends.
///
/// Loads read `width` big-endian bytes at `R[base] + offset`; a load past the captured bytes, or
/// from a base register whose own load failed, is *unreadable*: positive tests fail on it and
/// negated tests pass, exactly as the reference evaluator treats an out-of-bounds atom.
public struct Instruction: Sendable, Hashable {
    public enum Opcode: UInt8, Sendable, CaseIterable {
        /// `R[dst] = R[base] + ((load & mask) << scale)`; `dst` in `register`, `scale` in `aux`.
        /// Only in the prologue.
        case shift = 1
        /// Continue if the masked load `relation` `value` holds; otherwise jump to `target`.
        case test = 2
        /// Continue if the masked load `relation` `value` does *not* hold (or is unreadable);
        /// otherwise jump to `target`.
        case testNot = 3
        /// Look the masked load up in table `value`; jump to the entry's target, or to `target`
        /// when it is absent or unreadable. A terminal entry accepts its filter with this
        /// instruction's `specificity` and continues at `target`.
        case dispatch = 4
        /// Offer filter `value`, matched with `specificity`, as a candidate owner (or, for a tap,
        /// a copy).
        case accept = 5
        /// Jump to `target`.
        case jump = 6
        /// Stop. The last instruction of every program.
        case halt = 7
        /// Continue if `R[base] + value` bytes were captured (and `R[base]` is readable); otherwise
        /// jump to `target`. One check covers a straight-line run of loads, which then carry
        /// `boundsProven`.
        case check = 8

        /// Whether the instruction jumps to `target` (on a failed test or check, a missed dispatch,
        /// or always); the other opcodes leave `target` unused.
        public var hasTarget: Bool {
            switch self {
            case .test, .testNot, .dispatch, .jump, .check: true
            case .shift, .accept, .halt: false
            }
        }
    }

    /// `aux` flag of `test`, `testNot` and `dispatch`: an earlier `check` proved the load lies inside
    /// the packet, so it is not checked again. The verifier proves the claim on every path.
    public static let boundsProven: UInt8 = 1

    /// Whether a `test`, `testNot` or `dispatch` carries `boundsProven`; always false for the other
    /// opcodes, whose `aux` is a shift's scale or unused.
    public var isBoundsProven: Bool {
        switch opcode {
        case .test, .testNot, .dispatch: aux & Instruction.boundsProven != 0
        case .shift, .accept, .jump, .halt, .check: false
        }
    }

    /// The relation byte of a test: the one `Relation` every stage shares (DPFWire), whose raw
    /// values are the ISA's encoding.
    public typealias Relation = DPFWire.Relation

    public var opcode: Opcode
    /// Load width in bytes: 1, 2 or 4.
    public var width: UInt8
    public var relation: Relation
    /// Base register of the load.
    public var base: UInt8
    /// Destination register of a `shift`.
    public var register: UInt8
    /// Two uses, by opcode: a `shift`'s scale (the load is shifted left by `aux`, 0...3), and the
    /// flags of a `test`, `testNot` or `dispatch` (`boundsProven`). Unused by the other opcodes.
    public var aux: UInt8
    public var offset: UInt16
    public var mask: UInt32
    public var value: UInt32
    public var target: UInt32
    /// Header bits the matching path tested, for `accept` and for a `dispatch`'s terminal entries:
    /// the second key of the delivery rule.
    public var specificity: UInt32

    public init(
        _ opcode: Opcode, width: UInt8 = 0, relation: Relation = .equal, base: UInt8 = 0, register: UInt8 = 0,
        aux: UInt8 = 0, offset: UInt16 = 0, mask: UInt32 = 0, value: UInt32 = 0, target: UInt32 = 0,
        specificity: UInt32 = 0
    ) {
        self.opcode = opcode
        self.width = width
        self.relation = relation
        self.base = base
        self.register = register
        self.aux = aux
        self.offset = offset
        self.mask = mask
        self.value = value
        self.target = target
        self.specificity = specificity
    }

    /// Instruction words are 24 bytes in `.dpfc` files.
    public static let encodedSize = 24
}
