/// The fuzz input read as a sequence of choices, one byte each, so that a small change of the input
/// is a small change of what is generated (which is what lets libFuzzer's coverage guide it). Past
/// the end of the input every byte reads as 0, so every input generates something.
public struct Tape {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isExhausted: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }
    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    /// A number in 0..<count (count at most 256).
    public mutating func below(_ count: Int) -> Int { Int(byte()) % count }

    /// True for about `percent` in 100 bytes.
    public mutating func chance(_ percent: Int) -> Bool { Int(byte()) * 100 < percent * 256 }

    public mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}
