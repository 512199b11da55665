/// An IPv4 address, stored in host order as the 32-bit value a big-endian load yields.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`10.1.0.0`); exactly four decimal parts, each 0...255.
    public init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCIIDigit),
                let byte = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(byte)
        }
        self.value = value
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    public var bytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    public var description: String { bytes.map(String.init).joined(separator: ".") }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// An IPv6 address as 16 bytes in network order, kept as two big-endian halves.
public struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses RFC 4291 text: eight groups, `::` for a run of zero groups, an optional dotted IPv4 tail.
    public init?(_ text: Substring) {
        guard let groups = IPv6Address.parseGroups(text) else { return nil }
        var bytes: [UInt8] = []
        for group in groups { bytes += [UInt8(group >> 8), UInt8(group & 0xFF)] }
        self.init(bytes: bytes)
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// The four 32-bit words, most significant first, as 4-byte loads would read them.
    public var words: [UInt32] {
        [
            UInt32(high >> 32), UInt32(truncatingIfNeeded: high), UInt32(low >> 32),
            UInt32(truncatingIfNeeded: low),
        ]
    }

    /// RFC 5952 text: lower-case, leading zeros dropped, the longest run of two or more zero groups as `::`.
    public var description: String {
        let groups = (0..<8).map { index -> UInt16 in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(index % 4)))
        }
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8 && groups[index] == 0 { index += 1 }
            if index - start > bestLength {
                bestStart = start
                bestLength = index - start
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    private static func parseGroups(_ text: Substring) -> [UInt16]? {
        let halves = splitOnDoubleColon(text)
        guard halves.count <= 2 else { return nil }
        func parseRun(_ run: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
            if run.isEmpty { return [] }
            var groups: [UInt16] = []
            let parts = run.split(separator: ":", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() {
                if allowIPv4Tail && index == parts.count - 1 && part.contains(".") {
                    guard let v4 = IPv4Address(part) else { return nil }
                    groups += [UInt16(v4.value >> 16), UInt16(v4.value & 0xFFFF)]
                } else {
                    guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit),
                        let group = UInt16(part, radix: 16)
                    else { return nil }
                    groups.append(group)
                }
            }
            return groups
        }
        if halves.count == 1 {
            guard let groups = parseRun(halves[0], allowIPv4Tail: true), groups.count == 8 else {
                return nil
            }
            return groups
        }
        guard let head = parseRun(halves[0], allowIPv4Tail: false),
            let tail = parseRun(halves[1], allowIPv4Tail: true),
            head.count + tail.count <= 7
        else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}

/// Splits at every `::`; a `:::` leaves a part that starts with `:`, which later fails to parse.
private func splitOnDoubleColon(_ text: Substring) -> [Substring] {
    var parts: [Substring] = []
    var start = text.startIndex
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(after: index)
        if text[index] == ":", next < text.endIndex, text[next] == ":" {
            parts.append(text[start..<index])
            start = text.index(after: next)
            index = start
        } else {
            index = next
        }
    }
    parts.append(text[start...])
    return parts
}

/// A 48-bit MAC address.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) {
        precondition(value >> 48 == 0, "a MAC address has 48 bits")
        self.value = value
    }

    /// Parses six colon-separated groups of one or two hex digits (`00:1b:21:3c:4d:5e`).
    public init?(_ text: Substring) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard (1...2).contains(part.count), part.allSatisfy(\.isHexDigit),
                let byte = UInt8(part, radix: 16)
            else { return nil }
            value = value << 8 | UInt64(byte)
        }
        self.value = value
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    public static let broadcast = MACAddress(0xFFFF_FFFF_FFFF)

    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * $0)) } }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
