import DPFWire

/// The parsed form of a filter file. Nodes carry source ranges for diagnostics; ranges are not part
/// of equality (see `NotCompared`).
public struct FilterFile: Sendable, Equatable {
    public var apps: [AppDecl]
    @NotCompared public var source: SourceFile

    public init(apps: [AppDecl], source: SourceFile) {
        self.apps = apps
        self.source = source
    }
}

/// `app NAME [priority N] [tap] { filters }`.
public struct AppDecl: Sendable, Equatable {
    public var name: String
    public var priority: Int?
    public var isTap: Bool
    public var filters: [FilterDecl]
    public var grants: [GrantDecl]
    @NotCompared public var nameRange: SourceRange
    @NotCompared public var range: SourceRange

    public init(
        name: String, priority: Int? = nil, isTap: Bool = false, filters: [FilterDecl],
        grants: [GrantDecl] = [],
        nameRange: SourceRange = SourceRange(start: 0, end: 0),
        range: SourceRange = SourceRange(start: 0, end: 0)
    ) {
        self.name = name
        self.priority = priority
        self.isTap = isTap
        self.filters = filters
        self.grants = grants
        self.nameRange = nameRange
        self.range = range
    }
}

/// `grant LABEL, LABEL to APP, APP` (or `grant * to APP`): the app lets those apps install filters
/// that take packets from the named filters (the file form of holding a filter's guard).
public struct GrantDecl: Sendable, Equatable {
    /// Filter labels of this app; `["*"]` for all of them.
    public var filters: [String]
    public var apps: [String]
    @NotCompared public var range: SourceRange

    public init(filters: [String], apps: [String], range: SourceRange = SourceRange(start: 0, end: 0)) {
        self.filters = filters
        self.apps = apps
        self.range = range
    }
}

/// One filter of an app: an optional `LABEL:` and either an expression or a `pcap "..."` clause.
public struct FilterDecl: Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case expression(Expr)
        case pcap(String)
    }

    public var label: String?
    public var body: Body
    @NotCompared public var labelRange: SourceRange?
    @NotCompared public var range: SourceRange

    public init(
        label: String? = nil, body: Body, labelRange: SourceRange? = nil,
        range: SourceRange = SourceRange(start: 0, end: 0)
    ) {
        self.label = label
        self.body = body
        self.labelRange = labelRange
        self.range = range
    }
}

/// A boolean filter expression.
public struct Expr: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        /// Two or more operands, in source order. A chain `a and b and c` is one node, so long
        /// chains cost no depth; parentheses keep their own node (`a and (b and c)` has two).
        case and([Expr])
        /// Two or more operands, in source order, as for `and`.
        case or([Expr])
        case not(Expr)
        /// A protocol predicate such as `tcp` or `vlan`.
        case predicate(String)
        /// `operand OP value`.
        case comparison(OperandExpr, ComparisonOperator, Value)
        /// `operand in A..B` or `operand in PREFIX/LEN`.
        case membership(OperandExpr, ValueSet)
    }

    public var kind: Kind
    @NotCompared public var range: SourceRange

    public init(_ kind: Kind, range: SourceRange = SourceRange(start: 0, end: 0)) {
        self.kind = kind
        self.range = range
    }
}

public enum ComparisonOperator: String, Sendable, Equatable, CaseIterable {
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// What a comparison reads: a named field or a raw `header[offset:width]` load, optionally masked.
public struct OperandExpr: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case field(String)
        case raw(header: String, offset: Int, width: Int)
    }

    public var target: Target
    public var mask: Value?
    @NotCompared public var range: SourceRange

    public init(_ target: Target, mask: Value? = nil, range: SourceRange = SourceRange(start: 0, end: 0)) {
        self.target = target
        self.mask = mask
        self.range = range
    }
}

/// A literal value as written.
public struct Value: Sendable, Equatable {
    public enum Literal: Sendable, Equatable {
        /// An integer; `hex` remembers a `0x` spelling so the printer writes it back the same way.
        case integer(UInt64, hex: Bool)
        case ipv4(IPv4Address)
        case ipv6(IPv6Address)
        case mac(MACAddress)
    }

    public var literal: Literal
    @NotCompared public var range: SourceRange

    public init(_ literal: Literal, range: SourceRange = SourceRange(start: 0, end: 0)) {
        self.literal = literal
        self.range = range
    }
}

/// The right-hand side of `in`.
public enum ValueSet: Sendable, Equatable {
    case range(Value, Value)
    case prefix(Value, length: Int)
}
