/// A hash table from 32-bit keys to 32-bit values with linear probing and backward-shift deletion
/// (no tombstones), sized to a power of two and kept at most half full. Built for the trie's fan-out
/// nodes: lookups are one multiply, one shift and, almost always, one probe.
public struct OpenAddressingTable: Sendable {
    private var keys: [UInt32]
    private var values: [Int32]
    /// `values[i] == empty` marks a free slot.
    private static let empty: Int32 = -1
    public private(set) var count = 0
    private var shift: UInt32

    /// An empty table of eight slots (four entries before it grows).
    public init() {
        let capacity = 8
        keys = Array(repeating: 0, count: capacity)
        values = Array(repeating: OpenAddressingTable.empty, count: capacity)
        shift = UInt32(64 - capacity.trailingZeroBitCount)
    }

    public var capacity: Int { keys.count }

    /// Bytes the table's storage takes.
    public var byteCount: Int { capacity * (MemoryLayout<UInt32>.stride + MemoryLayout<Int32>.stride) }

    @inline(__always)
    private func slot(for key: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    @inline(__always)
    public func value(for key: UInt32) -> Int32? {
        let mask = capacity - 1
        var index = slot(for: key)
        while true {
            let value = values[index]
            if value == OpenAddressingTable.empty { return nil }
            if keys[index] == key { return value }
            index = (index + 1) & mask
        }
    }

    /// Inserts or replaces.
    public mutating func set(_ value: Int32, for key: UInt32) {
        precondition(value >= 0, "values are non-negative indices")
        if 2 * (count + 1) > capacity { resize(to: capacity * 2) }
        let mask = capacity - 1
        var index = slot(for: key)
        while values[index] != OpenAddressingTable.empty {
            if keys[index] == key {
                values[index] = value
                return
            }
            index = (index + 1) & mask
        }
        keys[index] = key
        values[index] = value
        count += 1
    }

    /// Removes `key` if present; shrinks when a quarter full so memory follows the contents.
    public mutating func remove(_ key: UInt32) {
        let mask = capacity - 1
        var index = slot(for: key)
        while true {
            if values[index] == OpenAddressingTable.empty { return }
            if keys[index] == key { break }
            index = (index + 1) & mask
        }
        // Backward-shift: pull later entries of the probe run into the hole.
        var hole = index
        var next = (hole + 1) & mask
        while values[next] != OpenAddressingTable.empty {
            let home = slot(for: keys[next])
            let distanceToNext = (next - home) & mask
            let distanceToHole = (hole - home) & mask
            if distanceToHole <= distanceToNext {
                keys[hole] = keys[next]
                values[hole] = values[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        values[hole] = OpenAddressingTable.empty
        count -= 1
        if capacity > 8 && 4 * count < capacity { resize(to: capacity / 2) }
    }

    /// Every entry, in no particular order.
    public var entries: [(key: UInt32, value: Int32)] {
        zip(keys, values).filter { $0.1 != OpenAddressingTable.empty }.map { ($0.0, $0.1) }
    }

    private mutating func resize(to newCapacity: Int) {
        let old = entries
        keys = Array(repeating: 0, count: newCapacity)
        values = Array(repeating: OpenAddressingTable.empty, count: newCapacity)
        shift = UInt32(64 - newCapacity.trailingZeroBitCount)
        count = 0
        for (key, value) in old { set(value, for: key) }
    }
}
