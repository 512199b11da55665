import DPFWire

/// The oracle: evaluates one filter tree on one packet in the most direct way. Every faster engine
/// must give exactly its answers. Deliberately simple; speed is other engines' business.
public enum ReferenceEvaluator {
    /// Whether `tree` accepts the packet.
    public static func matches(_ tree: FilterTree, _ packet: Packet) -> Bool {
        matches(tree, bytes: packet.bytes)
    }

    /// Whether `tree` accepts the packet `bytes` (an array, or borrowed bytes as engines see them).
    public static func matches<Bytes: PacketBytes>(_ tree: FilterTree, bytes: Bytes) -> Bool {
        switch tree {
        case .constant(let value): return value
        case .atom(let atom): return holds(atom, bytes: bytes)
        case .and(let children): return children.allSatisfy { matches($0, bytes: bytes) }
        case .or(let children): return children.contains { matches($0, bytes: bytes) }
        case .not(let child): return !matches(child, bytes: bytes)
        }
    }

    /// An atom holds when every byte its operand (and its base's shifts) reads was captured and
    /// the masked operand compares as it says.
    public static func holds<Bytes: PacketBytes>(_ atom: Atom, bytes: Bytes) -> Bool {
        guard let value = value(of: atom.operand, bytes: bytes) else { return false }
        return atom.relation.holds(value & atom.mask, atom.value)
    }

    /// The operand's value in this packet, or `nil` if a byte it needs was not captured.
    public static func value<Bytes: PacketBytes>(of operand: Operand, bytes: Bytes) -> UInt32? {
        switch operand {
        case .load(let load):
            guard let base = locate(load.base, bytes: bytes) else { return nil }
            return self.load(bytes, at: base + load.offset, width: load.width)
        }
    }

    /// The byte offset a base stands for in this packet, or `nil` if a shift's load was cut off.
    public static func locate<Bytes: PacketBytes>(_ base: HeaderBase, bytes: Bytes) -> Int? {
        var position = 0
        for shift in base.shifts {
            guard let loaded = load(bytes, at: position + shift.offset, width: shift.width) else {
                return nil
            }
            position += Int(loaded & shift.mask) << shift.scale
        }
        return position
    }

    /// A big-endian load, or `nil` past the captured bytes.
    @inlinable
    public static func load<Bytes: PacketBytes>(_ bytes: Bytes, at offset: Int, width: Int) -> UInt32? {
        bytes.bigEndianLoad(at: offset, width: width)
    }

    /// The filters of a set that accept the packet, in declaration order.
    public static func matchingFilters(_ set: FilterSet, _ packet: Packet) -> [String] {
        set.allFilters.filter { matches($0.filter.tree, packet) }.map(\.filter.name)
    }
}

/// Packet bytes the evaluator reads: a `[UInt8]`, or the borrowed bytes of a batch. Each kind
/// loads through its own concrete `PacketLoad` code, so a generic caller pays one call per load,
/// not one per byte.
public protocol PacketBytes: RandomAccessCollection<UInt8> where Index == Int {
    /// The big-endian value of the `width` (1, 2 or 4) bytes at `offset`, or `nil` past the end.
    func bigEndianLoad(at offset: Int, width: Int) -> UInt32?
}

extension Array: PacketBytes where Element == UInt8 {
    @inlinable @inline(__always)
    public func bigEndianLoad(at offset: Int, width: Int) -> UInt32? {
        PacketLoad.bigEndian(self, at: offset, width: width)
    }
}

extension UnsafeRawBufferPointer: PacketBytes {
    @inlinable @inline(__always)
    public func bigEndianLoad(at offset: Int, width: Int) -> UInt32? {
        PacketLoad.bigEndian(self, at: offset, width: width)
    }
}
