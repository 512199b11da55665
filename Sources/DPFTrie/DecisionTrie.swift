import DPFFilter
import DPFWire

/// Identifies an installed filter for as long as the trie lives: ids are handed out in install
/// order and never reused, so a verdict names the same filter in every program generation lowered
/// from the trie (a removed filter's id is never given to another).
public struct FilterID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: FilterID, rhs: FilterID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "#\(rawValue)" }
}

/// What the trie knows about an installed filter.
public struct InstalledFilter: Sendable {
    public let id: FilterID
    public let name: String
    public let app: String
    public let priority: Int
    public let isTap: Bool
    /// The filter as installed; its paths are re-derived from it when needed (messages, tests),
    /// so the trie does not keep a second copy of every literal.
    public let tree: FilterTree
    /// Install order, the final tie-break between two filters of the same app (see `DeliveryKey`):
    /// increasing with every install, never reused.
    public let sequence: UInt32
    /// First of the filter's path records, chained through `PathRecord.nextOfFilter`.
    var firstPath: Int32 = -1

    /// The filter's paths, expanded again from its tree.
    public var paths: [FilterPath] { (try? PathExpansion.paths(of: tree)) ?? [] }
}

/// Every app's filters merged into one decision trie (DPF's shared trie). Each filter becomes
/// paths of literals in canonical order; equal prefixes share nodes; a node's children are grouped
/// by the field they test, and a group's equality edges live in an open-addressing table, so a
/// packet's walk costs a few loads and one probe per level whatever the number of filters.
///
/// Insert and remove touch only the nodes on the filter's own paths. Storage is index-linked
/// arrays with free lists, so removal returns memory and the structure after any sequence of
/// updates dumps exactly like one built from scratch.
public final class DecisionTrie {
    struct Node {
        var firstGroup: Int32 = -1
        var firstAccept: Int32 = -1
        /// Paths through this node; the node goes when it reaches zero.
        var references: Int32 = 0
        var depth: Int32 = 0
        /// The node above, the group holding the edge to this node, and (for an equality edge)
        /// its value: enough to unlink the node from the bottom up.
        var parent: Int32 = -1
        var parentGroup: Int32 = -1
        var edgeValue: UInt32 = 0
        var isEqualityEdge = false
    }

    struct Group {
        var key: Int32
        var next: Int32
        var equalities: OpenAddressingTable
        /// Non-equality literals (ranges, `!=`, negations) and their children.
        var others: [(literal: Literal, child: Int32)]

        var edgeCount: Int { equalities.count + others.count }
    }

    struct Accept {
        var path: Int32
        var next: Int32
    }

    /// A filter's delivery key without specificity (`DeliveryKey.rank`), or nil for a tap.
    struct Rank {
        var id: FilterID
        var key: UInt64?
    }

    struct PathRecord {
        /// The filter's slot in `filters`.
        var filter: Int32
        var specificity: Int32
        /// The node where the path ends.
        var leaf: Int32
        var nextOfFilter: Int32
    }

    public let linkType: LinkType
    var nodes: [Node] = [Node()]
    var freeNodes: [Int32] = []
    var groups: [Group] = []
    var freeGroups: [Int32] = []
    var accepts: [Accept] = []
    var freeAccepts: [Int32] = []
    var pathRecords: [PathRecord] = []
    var freePaths: [Int32] = []
    var keys: [TestKey] = []
    var keyReferences: [Int32] = []
    var keyIDs: [TestKey: Int32] = [:]
    var freeKeys: [Int32] = []
    /// Installed filters by slot; a removed filter's slot is reused, its id is not.
    var filters: [InstalledFilter?] = []
    /// What the walker needs of each filter, indexed like `filters`: kept apart so a packet's walk
    /// reads a few plain words instead of copying filter records (names, trees) per accept.
    var ranks: [Rank] = []
    var freeFilters: [Int32] = []
    var filterIDs: [String: FilterID] = [:]
    var slots: [FilterID: Int32] = [:]
    /// The next filter's id and install sequence (one counter: ids are handed out in install order).
    var nextSequence: UInt32 = 0

    static let root: Int32 = 0

    public init(linkType: LinkType = .ethernet) { self.linkType = linkType }

    /// An independent trie with the same contents: same filters, ids, free lists and next id, so
    /// it walks, dumps and updates exactly as this one would. Updates to either leave the other
    /// alone, so a snapshot can keep walking the copy while this trie changes. Cheap: the storage
    /// is arrays and dictionaries of values, shared copy-on-write until one side writes.
    public func copy() -> DecisionTrie {
        let copy = DecisionTrie(linkType: linkType)
        copy.nodes = nodes
        copy.freeNodes = freeNodes
        copy.groups = groups
        copy.freeGroups = freeGroups
        copy.accepts = accepts
        copy.freeAccepts = freeAccepts
        copy.pathRecords = pathRecords
        copy.freePaths = freePaths
        copy.keys = keys
        copy.keyReferences = keyReferences
        copy.keyIDs = keyIDs
        copy.freeKeys = freeKeys
        copy.filters = filters
        copy.ranks = ranks
        copy.freeFilters = freeFilters
        copy.filterIDs = filterIDs
        copy.slots = slots
        copy.nextSequence = nextSequence
        return copy
    }

    public var filterCount: Int { filterIDs.count }

    public func filter(_ id: FilterID) -> InstalledFilter? { slots[id].flatMap { filters[Int($0)] } }

    public func id(named name: String) -> FilterID? { filterIDs[name] }

    /// Every installed filter, in install order.
    public var installed: [(id: FilterID, filter: InstalledFilter)] {
        filters.compactMap { $0.map { ($0.id, $0) } }.sorted { $0.filter.sequence < $1.filter.sequence }
    }

    // MARK: Storage

    func allocate<T>(_ item: T, in storage: inout [T], free: inout [Int32]) -> Int32 {
        if let index = free.popLast() {
            storage[Int(index)] = item
            return index
        }
        storage.append(item)
        return Int32(storage.count - 1)
    }

    func internKey(_ key: TestKey) -> Int32 {
        if let id = keyIDs[key] {
            keyReferences[Int(id)] += 1
            return id
        }
        let id = allocate(key, in: &keys, free: &freeKeys)
        if Int(id) == keyReferences.count { keyReferences.append(1) } else { keyReferences[Int(id)] = 1 }
        keyIDs[key] = id
        return id
    }

    func releaseKey(_ id: Int32) {
        keyReferences[Int(id)] -= 1
        if keyReferences[Int(id)] == 0 {
            keyIDs[keys[Int(id)]] = nil
            freeKeys.append(id)
        }
    }

    // MARK: Paths

    /// The group of `node` that tests `key`, if any.
    func group(of node: Int32, testing key: TestKey) -> Int32? {
        // A node has few groups: comparing keys beats hashing one.
        var index = nodes[Int(node)].firstGroup
        while index >= 0 {
            if keys[Int(groups[Int(index)].key)] == key { return index }
            index = groups[Int(index)].next
        }
        return nil
    }

    func child(in group: Int32, for literal: Literal) -> Int32? {
        if literal.isEquality { return groups[Int(group)].equalities.value(for: literal.atom.value) }
        return groups[Int(group)].others.first { $0.literal == literal }?.child
    }

    /// Adds one path, creating the nodes it needs; returns the path's id.
    func insertPath(_ path: FilterPath, filter: Int32, nextOfFilter: Int32) -> Int32 {
        var node = DecisionTrie.root
        nodes[Int(node)].references += 1
        for literal in path.literals {
            let key = literal.key
            let groupIndex: Int32
            if let existing = group(of: node, testing: key) {
                groupIndex = existing
            } else {
                let fresh = Group(
                    key: internKey(key), next: nodes[Int(node)].firstGroup, equalities: OpenAddressingTable(),
                    others: [])
                groupIndex = allocate(fresh, in: &groups, free: &freeGroups)
                nodes[Int(node)].firstGroup = groupIndex
            }
            let next: Int32
            if let existing = child(in: groupIndex, for: literal) {
                next = existing
            } else {
                let fresh = Node(
                    depth: nodes[Int(node)].depth + 1, parent: node, parentGroup: groupIndex,
                    edgeValue: literal.atom.value,
                    isEqualityEdge: literal.isEquality)
                next = allocate(fresh, in: &nodes, free: &freeNodes)
                if literal.isEquality {
                    groups[Int(groupIndex)].equalities.set(next, for: literal.atom.value)
                } else {
                    groups[Int(groupIndex)].others.append((literal, next))
                }
            }
            nodes[Int(next)].references += 1
            node = next
        }
        let pathID = allocate(
            PathRecord(
                filter: filter, specificity: Int32(path.specificity), leaf: node, nextOfFilter: nextOfFilter),
            in: &pathRecords,
            free: &freePaths)
        nodes[Int(node)].firstAccept = allocate(
            Accept(path: pathID, next: nodes[Int(node)].firstAccept), in: &accepts, free: &freeAccepts)
        return pathID
    }

    /// Removes one path, freeing every node, group and key no other path uses; climbs from the
    /// path's leaf, so the work is the path's length.
    func removePath(_ pathID: Int32) {
        var node = pathRecords[Int(pathID)].leaf
        unlinkAccept(pathID, at: node)
        freePaths.append(pathID)
        nodes[Int(DecisionTrie.root)].references -= 1
        while node != DecisionTrie.root {
            let below = nodes[Int(node)]
            nodes[Int(node)].references -= 1
            if below.references == 1 {
                let groupIndex = below.parentGroup
                if below.isEqualityEdge {
                    groups[Int(groupIndex)].equalities.remove(below.edgeValue)
                } else {
                    groups[Int(groupIndex)].others.removeAll { $0.child == node }
                }
                freeNodes.append(node)
                if groups[Int(groupIndex)].edgeCount == 0 { unlinkGroup(groupIndex, from: below.parent) }
            }
            node = below.parent
        }
    }

    private func unlinkAccept(_ pathID: Int32, at node: Int32) {
        var previous: Int32 = -1
        var index = nodes[Int(node)].firstAccept
        while index >= 0 && accepts[Int(index)].path != pathID {
            previous = index
            index = accepts[Int(index)].next
        }
        precondition(index >= 0, "path \(pathID) is not accepted at its node")
        if previous < 0 {
            nodes[Int(node)].firstAccept = accepts[Int(index)].next
        } else {
            accepts[Int(previous)].next = accepts[Int(index)].next
        }
        freeAccepts.append(index)
    }

    private func unlinkGroup(_ groupIndex: Int32, from node: Int32) {
        var previous: Int32 = -1
        var index = nodes[Int(node)].firstGroup
        while index != groupIndex {
            previous = index
            index = groups[Int(index)].next
        }
        if previous < 0 {
            nodes[Int(node)].firstGroup = groups[Int(index)].next
        } else {
            groups[Int(previous)].next = groups[Int(index)].next
        }
        releaseKey(groups[Int(groupIndex)].key)
        groups[Int(groupIndex)] = Group(key: -1, next: -1, equalities: OpenAddressingTable(), others: [])
        freeGroups.append(groupIndex)
    }
}
