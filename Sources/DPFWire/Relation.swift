/// How a test compares a masked load with its value: the one relation every stage shares, from
/// the filter language through the trie to the ISA.
///
/// Raw values are the ISA's encoding (the relation byte of a `.dpfc` instruction word). The
/// canonical order (`Comparable`) is a different, separate fact: it sorts filter trees and trie
/// edges, with a range's lower bound before its upper bound.
public enum Relation: UInt8, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case equal = 0
    case notEqual = 1
    case less = 2
    case lessOrEqual = 3
    case greater = 4
    case greaterOrEqual = 5

    /// `==`, `!=`, `<`, `<=`, `>`, `>=`.
    public var symbol: String {
        switch self {
        case .equal: "=="
        case .notEqual: "!="
        case .less: "<"
        case .lessOrEqual: "<="
        case .greater: ">"
        case .greaterOrEqual: ">="
        }
    }

    public var description: String { symbol }

    @inline(__always)
    public func holds(_ lhs: UInt32, _ rhs: UInt32) -> Bool {
        switch self {
        case .equal: lhs == rhs
        case .notEqual: lhs != rhs
        case .less: lhs < rhs
        case .lessOrEqual: lhs <= rhs
        case .greater: lhs > rhs
        case .greaterOrEqual: lhs >= rhs
        }
    }

    /// Position in canonical order: equalities first, then lower bounds, then upper bounds.
    private var canonicalRank: Int {
        switch self {
        case .equal: 0
        case .notEqual: 1
        case .greater: 2
        case .greaterOrEqual: 3
        case .less: 4
        case .lessOrEqual: 5
        }
    }

    public static func < (lhs: Relation, rhs: Relation) -> Bool { lhs.canonicalRank < rhs.canonicalRank }
}
