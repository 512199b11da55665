import DPFSyntax
import DPFWire

/// Random syntactically valid ASTs (not necessarily meaningful ones), for print/re-parse tests.
public struct RandomASTs {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    static let names = ["web", "dns", "a", "b2", "mon_1", "x", "carrier", "tcp", "eth"]
    static let fields = [
        "tcp.dport", "ip4.src", "ip6.dst", "eth.src", "vlan.id", "udp.len", "icmp4.type", "bogus.field",
        "x.y",
    ]
    static let headers = ["eth", "ip4", "ip6", "tcp", "udp", "icmp4", "icmp6", "arp", "zz"]

    public mutating func file(apps: Int = 3) -> FilterFile {
        var used = Set<String>()
        var result: [AppDecl] = []
        for _ in 0..<Int.random(in: 0...apps, using: &generator) {
            let name = generator.pick(RandomASTs.names) + (used.isEmpty ? "" : String(used.count))
            used.insert(name)
            result.append(app(name: name))
        }
        return FilterFile(apps: result, source: SourceFile(name: "random", text: ""))
    }

    public mutating func app(name: String) -> AppDecl {
        let filters = (0..<Int.random(in: 0...3, using: &generator)).map { _ in filter() }
        let grants = (0..<Int.random(in: 0...2, using: &generator)).map { _ in grant() }
        return AppDecl(
            name: name,
            priority: generator.chance(0.5)
                ? Int.random(in: 0...Parser.maximumPriority, using: &generator) : nil,
            isTap: generator.chance(0.3), filters: filters, grants: grants)
    }

    public mutating func grant() -> GrantDecl {
        let labels = (0..<Int.random(in: 1...2, using: &generator)).map { _ in
            generator.pick(RandomASTs.names)
        }
        let apps = (0..<Int.random(in: 1...2, using: &generator)).map { _ in generator.pick(RandomASTs.names)
        }
        return GrantDecl(filters: generator.chance(0.3) ? ["*"] : labels, apps: apps)
    }

    public mutating func filter() -> FilterDecl {
        let label = generator.chance(0.5) ? generator.pick(RandomASTs.names) : nil
        if generator.chance(0.1) {
            return FilterDecl(
                label: label, body: .pcap(generator.pick(["udp port 514", "a \"quoted\" \\ text", ""])))
        }
        return FilterDecl(label: label, body: .expression(expression(depth: 4)))
    }

    public mutating func expression(depth: Int) -> Expr {
        if depth == 0 || generator.chance(0.25) { return leaf() }
        switch Int.random(in: 0..<3, using: &generator) {
        case 0: return Expr(.not(expression(depth: depth - 1)))
        case 1: return Expr(.and(operands(depth: depth - 1)))
        default: return Expr(.or(operands(depth: depth - 1)))
        }
    }

    /// Two or three operands of an n-ary `and`/`or`.
    private mutating func operands(depth: Int) -> [Expr] {
        (0..<Int.random(in: 2...4, using: &generator)).map { _ in expression(depth: depth) }
    }

    private mutating func leaf() -> Expr {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            return Expr(.predicate(generator.pick(Array(Parser.protocolPredicates) + ["tpc", "foo"])))
        case 1:
            let op = generator.pick(ComparisonOperator.allCases)
            return Expr(.comparison(operand(), op, value()))
        case 2:
            return Expr(.membership(operand(), .range(value(), value())))
        default:
            return Expr(
                .membership(operand(), .prefix(value(), length: Int.random(in: 0...128, using: &generator))))
        }
    }

    private mutating func operand() -> OperandExpr {
        let target: OperandExpr.Target =
            generator.chance(0.7)
            ? .field(generator.pick(RandomASTs.fields))
            : .raw(
                header: generator.pick(RandomASTs.headers),
                offset: Int.random(in: 0..<PacketLoad.window, using: &generator),
                width: generator.pick([1, 2, 4]))
        return OperandExpr(target, mask: generator.chance(0.2) ? value() : nil)
    }

    private mutating func value() -> Value {
        switch Int.random(in: 0..<5, using: &generator) {
        case 0: return Value(.integer(UInt64.random(in: 0...UInt64.max, using: &generator), hex: true))
        case 1: return Value(.integer(UInt64.random(in: 0...70_000, using: &generator), hex: false))
        case 2: return Value(.ipv4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))))
        case 3:
            let high = generator.chance(0.5) ? 0 : UInt64.random(in: 0...UInt64.max, using: &generator)
            return Value(
                .ipv6(
                    IPv6Address(
                        high: high,
                        low: generator.chance(0.5) ? 1 : UInt64.random(in: 0...UInt64.max, using: &generator))
                ))
        default:
            return Value(.mac(MACAddress(UInt64.random(in: 0...0xFFFF_FFFF_FFFF, using: &generator))))
        }
    }
}
