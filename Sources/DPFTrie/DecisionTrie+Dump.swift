import DPFFilter

/// Counts that describe a trie (`dpf compile --emit stats`).
public struct TrieStatistics: Sendable, Equatable {
    public struct AppCount: Sendable, Equatable {
        public var app: String
        public var filters: Int
    }

    public var filters: Int
    public var paths: Int
    public var nodes: Int
    /// Groups of edges that test one field.
    public var tests: Int
    /// Groups that dispatch two or more equality edges through their hash table.
    public var hashNodes: Int
    /// Literals on the longest path.
    public var depth: Int
    /// Bytes of trie storage in use (nodes, groups, tables, edges, accept lists, path records).
    public var bytes: Int
    /// Installed filters per app, sorted by app name.
    public var filtersPerApp: [AppCount]
}

extension DecisionTrie {
    /// The canonical text of the trie: children sorted by field and value, paths by filter name,
    /// nothing that depends on the order of updates. Used to prove incremental updates right.
    public func dump() -> String {
        var lines: [String] = []
        dump(node: DecisionTrie.root, indent: 0, into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }

    private func dump(node: Int32, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: "  ", count: indent)
        var acceptLines: [String] = []
        var accept = nodes[Int(node)].firstAccept
        while accept >= 0 {
            let path = pathRecords[Int(accepts[Int(accept)].path)]
            let filter = filters[Int(path.filter)]!
            let role = filter.isTap ? "tap" : "priority \(filter.priority)"
            acceptLines.append(
                pad + "=> \(filter.name) (app \(filter.app), \(role), specificity \(path.specificity))")
            accept = accepts[Int(accept)].next
        }
        lines += acceptLines.sorted()
        var children: [(key: TestKey, group: Group)] = []
        var groupIndex = nodes[Int(node)].firstGroup
        while groupIndex >= 0 {
            children.append((keys[Int(groups[Int(groupIndex)].key)], groups[Int(groupIndex)]))
            groupIndex = groups[Int(groupIndex)].next
        }
        for (key, group) in children.sorted(by: { $0.key < $1.key }) {
            let fanOut = group.equalities.count >= 2 ? "  [hash \(group.equalities.count)]" : ""
            lines.append(pad + describe(key) + fanOut)
            for (value, child) in group.equalities.entries.sorted(by: { $0.key < $1.key }) {
                lines.append(pad + "  == " + TreePrinter.hex(value, width: key.operand.width))
                dump(node: child, indent: indent + 2, into: &lines)
            }
            for (literal, child) in group.others.sorted(by: { $0.literal < $1.literal }) {
                let test =
                    "\(literal.atom.relation.symbol) "
                    + TreePrinter.hex(literal.atom.value, width: key.operand.width)
                lines.append(pad + "  " + (literal.isNegated ? "not \(test)" : test))
                dump(node: child, indent: indent + 2, into: &lines)
            }
        }
    }

    private func describe(_ key: TestKey) -> String {
        TreePrinter.describe(key.operand, mask: key.mask)
    }

    public var statistics: TrieStatistics {
        var nodeCount = 0
        var tests = 0
        var hashNodes = 0
        var depth = 0
        var bytes = 0
        var pending: [Int32] = [DecisionTrie.root]
        while let node = pending.popLast() {
            nodeCount += 1
            depth = max(depth, Int(nodes[Int(node)].depth))
            bytes += MemoryLayout<Node>.stride
            var accept = nodes[Int(node)].firstAccept
            while accept >= 0 {
                bytes += MemoryLayout<Accept>.stride + MemoryLayout<PathRecord>.stride
                accept = accepts[Int(accept)].next
            }
            var groupIndex = nodes[Int(node)].firstGroup
            while groupIndex >= 0 {
                let group = groups[Int(groupIndex)]
                tests += 1
                if group.equalities.count >= 2 { hashNodes += 1 }
                bytes += MemoryLayout<Group>.stride + group.equalities.byteCount
                bytes += group.others.capacity * MemoryLayout<(literal: Literal, child: Int32)>.stride
                pending += group.equalities.entries.map(\.value) + group.others.map(\.child)
                groupIndex = group.next
            }
        }
        var perApp: [String: Int] = [:]
        for (_, filter) in installed { perApp[filter.app, default: 0] += 1 }
        return TrieStatistics(
            filters: filterCount, paths: pathRecords.count - freePaths.count, nodes: nodeCount, tests: tests,
            hashNodes: hashNodes,
            depth: depth, bytes: bytes,
            filtersPerApp: perApp.sorted { $0.key < $1.key }.map {
                TrieStatistics.AppCount(app: $0.key, filters: $0.value)
            })
    }
}
