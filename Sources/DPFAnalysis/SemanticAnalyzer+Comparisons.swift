import DPFFilter
import DPFSyntax
import DPFWire

extension ResolvedOperand {
    typealias Failure = SemanticAnalyzer.Failure

    /// `operand OP value`: for every way to reach the header, its guard and the comparison atoms.
    /// Comparisons need the field to exist: `tcp.dport != 80` is false for a packet without TCP.
    func compare(_ relation: Relation, _ value: Value, analyzer: SemanticAnalyzer) throws(Failure)
        -> FilterTree
    {
        if field.isScalar {
            let number = try scalar(value, role: "value", analyzer: analyzer)
            let mask = try userMask(analyzer)
            if relation == .equal || relation == .notEqual, number & ~mask != 0 {
                throw analyzer.failure(
                    "value \(hex(number)) has bits outside the mask \(hex(mask)), so this comparison is always \(relation == .equal ? "false" : "true")",
                    at: value.range)
            }
            return try built(analyzer) { () throws(FilterError) in
                try analyzer.builder.compare(field, at: locations, mask: mask, relation, number)
            }
        }
        guard relation == .equal || relation == .notEqual else {
            throw analyzer.failure(
                "'\(relation.symbol)' cannot order the \(field.bitCount)-bit field '\(name)'; use == or !=",
                at: value.range)
        }
        let bytes = try wideBytes(value, role: "value", analyzer: analyzer)
        var maskBytes = [UInt8](repeating: 0xFF, count: field.width)
        if let mask { maskBytes = try wideBytes(mask, role: "mask", analyzer: analyzer) }
        if zip(bytes, maskBytes).contains(where: { $0 & ~$1 != 0 }) {
            throw analyzer.failure(
                "value \(ASTPrinter.print(value)) has bits outside the mask, so this comparison is never true",
                at: value.range)
        }
        return try built(analyzer) { () throws(FilterError) in
            try analyzer.builder.compareBytes(
                field, at: locations, value: bytes, mask: maskBytes, negated: relation == .notEqual)
        }
    }

    /// `operand in A..B` or `operand in ADDRESS/LENGTH`.
    func member(of set: ValueSet, analyzer: SemanticAnalyzer, range: SourceRange) throws(Failure)
        -> FilterTree
    {
        switch set {
        case .range(let low, let high):
            guard field.isScalar else {
                throw analyzer.failure(
                    "ranges are not supported on the \(field.bitCount)-bit field '\(name)'",
                    at: low.range.union(high.range))
            }
            let lower = try scalar(low, role: "value", analyzer: analyzer)
            let upper = try scalar(high, role: "value", analyzer: analyzer)
            guard lower <= upper else {
                throw analyzer.failure(
                    "empty range: \(ASTPrinter.print(low)) is greater than \(ASTPrinter.print(high))",
                    at: low.range.union(high.range))
            }
            let mask = try userMask(analyzer)
            return try built(analyzer) { () throws(FilterError) in
                try analyzer.builder.compare(
                    field, at: locations, mask: mask, [(.greaterOrEqual, lower), (.lessOrEqual, upper)])
            }
        case .prefix(let address, let length):
            if let mask { throw analyzer.failure("a mask cannot be combined with a prefix", at: mask.range) }
            let written = SourceRange(start: address.range.start, end: range.end)
            return try prefix(address, length: length, analyzer: analyzer, range: written)
        }
    }

    private func prefix(_ address: Value, length: Int, analyzer: SemanticAnalyzer, range: SourceRange)
        throws(Failure) -> FilterTree
    {
        switch (field.kind, address.literal) {
        case (.ipv4Address, .ipv4(let ip)):
            guard length <= 32 else {
                throw analyzer.failure(
                    "prefix length \(length) is too long for an IPv4 address (at most 32)", at: range)
            }
            let mask: UInt32 = length == 0 ? 0 : UInt32.max << UInt32(32 - length)
            guard ip.value & ~mask == 0 else {
                throw analyzer.failure(
                    "\(ip)/\(length) has host bits set; did you mean \(IPv4Address(ip.value & mask))/\(length)?",
                    at: address.range)
            }
            return try built(analyzer) { () throws(FilterError) in
                try analyzer.builder.compare(
                    field, at: locations, mask: UInt64(mask), .equal, UInt64(ip.value))
            }
        case (.ipv6Address, .ipv6(let ip)):
            guard length <= 128 else {
                throw analyzer.failure(
                    "prefix length \(length) is too long for an IPv6 address (at most 128)", at: range)
            }
            let maskBytes = (0..<16).map { index -> UInt8 in
                let bits = max(0, min(8, length - 8 * index))
                return bits == 0 ? 0 : UInt8(0xFF << (8 - bits) & 0xFF)
            }
            let bytes = ip.bytes
            guard zip(bytes, maskBytes).allSatisfy({ $0 & ~$1 == 0 }) else {
                let network = IPv6Address(bytes: zip(bytes, maskBytes).map { $0 & $1 })
                throw analyzer.failure(
                    "\(ip)/\(length) has host bits set; did you mean \(network)/\(length)?", at: address.range
                )
            }
            return try built(analyzer) { () throws(FilterError) in
                try analyzer.builder.compareBytes(field, at: locations, value: bytes, mask: maskBytes)
            }
        case (.ipv4Address, _), (.ipv6Address, _):
            let expected = field.kind == .ipv4Address ? "an IPv4" : "an IPv6"
            throw analyzer.failure(
                "'\(name)' needs \(expected) prefix, not \(describe(address.literal))", at: address.range)
        default:
            throw analyzer.failure(
                "a prefix needs an address field; '\(name)' is \(kindName)", at: address.range)
        }
    }

    // MARK: Building trees

    /// The builder's tree, with its refusals reported at the operand (a raw load past the packet
    /// window is the one a checked value can still reach).
    private func built(_ analyzer: SemanticAnalyzer, _ body: () throws(FilterError) -> FilterTree)
        throws(Failure)
        -> FilterTree
    {
        do {
            return try body()
        } catch  where error.kind == .outsidePacketWindow {
            throw analyzer.failure("'\(name)' reaches past the 64 KiB packet window", at: range)
        } catch {
            throw analyzer.failure("'\(name)': \(error.message)", at: range)
        }
    }

    // MARK: Values

    private var kindName: String {
        switch field.kind {
        case .integer: return "a number"
        case .ipv4Address: return "an IPv4 address"
        case .ipv6Address: return "an IPv6 address"
        case .macAddress: return "a MAC address"
        }
    }

    private func describe(_ literal: Value.Literal) -> String {
        switch literal {
        case .integer: return "a number"
        case .ipv4: return "an IPv4 address"
        case .ipv6: return "an IPv6 address"
        case .mac: return "a MAC address"
        }
    }

    private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// A scalar field's value or mask: the right kind, and no wider than the field.
    private func scalar(_ value: Value, role: String, analyzer: SemanticAnalyzer) throws(Failure) -> UInt64 {
        let number: UInt64
        switch (value.literal, field.kind) {
        case (.integer(let n, _), _): number = n
        case (.ipv4(let address), .ipv4Address): number = UInt64(address.value)
        case (.ipv4(let address), .integer) where field.width == 4 && field.mask == .max:
            number = UInt64(address.value)
        case (.ipv6, .ipv4Address):
            throw analyzer.failure(
                "'\(name)' is an IPv4 address field; \(ASTPrinter.print(value)) is an IPv6 address",
                at: value.range)
        default:
            throw analyzer.failure(
                "'\(name)' takes \(kindName), not \(describe(value.literal))", at: value.range)
        }
        guard number <= field.maxValue else {
            let what =
                role == "mask"
                ? "mask \(ASTPrinter.print(value)) is wider than"
                : "value \(ASTPrinter.print(value)) does not fit in"
            throw analyzer.failure(
                "\(what) '\(name)' (\(field.bitCount) bits, at most \(field.maxValue))", at: value.range)
        }
        return number
    }

    private func userMask(_ analyzer: SemanticAnalyzer) throws(Failure) -> UInt64 {
        guard let mask else { return field.maxValue }
        return try scalar(mask, role: "mask", analyzer: analyzer)
    }

    /// A MAC or IPv6 value or mask as bytes.
    private func wideBytes(_ value: Value, role: String, analyzer: SemanticAnalyzer) throws(Failure)
        -> [UInt8]
    {
        switch (value.literal, field.kind) {
        case (.mac(let address), .macAddress): return address.bytes
        case (.ipv6(let address), .ipv6Address): return address.bytes
        case (.ipv4, .ipv6Address):
            throw analyzer.failure(
                "'\(name)' is an IPv6 address field; \(ASTPrinter.print(value)) is an IPv4 address (write ::ffff:\(ASTPrinter.print(value)) for an IPv4-mapped address)",
                at: value.range)
        default:
            throw analyzer.failure(
                "'\(name)' takes \(kindName), not \(describe(value.literal))", at: value.range)
        }
    }
}
