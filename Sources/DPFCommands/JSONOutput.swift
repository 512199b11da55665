import DPFFilter
import DPFSyntax
import DPFTrie

/// The `--json` forms of the ASTs and filter trees.
enum JSONOutput {
    static func ast(_ files: [FilterFile]) -> JSONValue {
        .object([("files", .array(files.map(file)))])
    }

    private static func file(_ file: FilterFile) -> JSONValue {
        .object([
            ("name", .string(file.source.name)),
            (
                "apps",
                .array(
                    file.apps.map { app in
                        .object([
                            ("name", .string(app.name)),
                            ("priority", app.priority.map(JSONValue.int) ?? .null),
                            ("tap", .bool(app.isTap)),
                            ("filters", .array(app.filters.map(filter))),
                        ])
                    })
            ),
        ])
    }

    private static func filter(_ filter: FilterDecl) -> JSONValue {
        let body: JSONValue
        switch filter.body {
        case .expression(let expr): body = .string(ASTDumper.dump(expr))
        case .pcap(let text): body = .object([("pcap", .string(text))])
        }
        return .object([
            ("label", filter.label.map(JSONValue.string) ?? .null),
            ("source", .string(ASTPrinter.print(filter))),
            ("ast", body),
        ])
    }

    static func filterSet(_ set: FilterSet) -> JSONValue {
        .object([
            ("link", .string(set.linkType.name)),
            (
                "apps",
                .array(
                    set.apps.map { app in
                        .object([
                            ("name", .string(app.name)),
                            ("priority", .int(app.priority)),
                            ("tap", .bool(app.isTap)),
                            (
                                "filters",
                                .array(
                                    app.filters.map { filter in
                                        .object([
                                            ("name", .string(filter.name)),
                                            ("origin", .string(filter.origin)),
                                            ("tree", tree(filter.tree)),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
        ])
    }

    static func tree(_ tree: FilterTree) -> JSONValue {
        switch tree {
        case .constant(let value): return .object([("const", .bool(value))])
        case .atom(let atom): return .object([("atom", self.atom(atom))])
        case .and(let children): return .object([("and", .array(children.map(self.tree)))])
        case .or(let children): return .object([("or", .array(children.map(self.tree)))])
        case .not(let child): return .object([("not", self.tree(child))])
        }
    }

    /// An atom's fields; a load operand's base, offset and width sit at the top level.
    private static func atom(_ atom: Atom) -> JSONValue {
        var fields = operand(atom.operand)
        fields += [
            ("mask", .int(Int(atom.mask))),
            ("op", .string(atom.relation.symbol)),
            ("value", .int(Int(atom.value))),
            ("text", .string(TreePrinter.describe(atom))),
        ]
        return .object(fields)
    }

    private static func operand(_ operand: Operand) -> [(String, JSONValue)] {
        switch operand {
        case .load(let load):
            let shifts: [JSONValue] = load.base.shifts.map { shift in
                .object([
                    ("offset", .int(shift.offset)), ("width", .int(shift.width)),
                    ("mask", .int(Int(shift.mask))), ("scale", .int(shift.scale)),
                ])
            }
            return [("base", .array(shifts)), ("offset", .int(load.offset)), ("width", .int(load.width))]
        }
    }

    static func statistics(_ statistics: TrieStatistics) -> JSONValue {
        .object([
            ("filters", .int(statistics.filters)), ("paths", .int(statistics.paths)),
            ("nodes", .int(statistics.nodes)),
            ("tests", .int(statistics.tests)), ("hash_nodes", .int(statistics.hashNodes)),
            ("depth", .int(statistics.depth)),
            ("bytes", .int(statistics.bytes)),
            (
                "apps",
                .array(
                    statistics.filtersPerApp.map {
                        .object([("name", .string($0.app)), ("filters", .int($0.filters))])
                    })
            ),
        ])
    }

    static func statisticsText(_ statistics: TrieStatistics) -> String {
        var lines = [
            "filters     \(statistics.filters)", "paths       \(statistics.paths)",
            "nodes       \(statistics.nodes)",
            "tests       \(statistics.tests)", "hash nodes  \(statistics.hashNodes)",
            "depth       \(statistics.depth)",
            "bytes       \(statistics.bytes)", "per app:",
        ]
        lines += statistics.filtersPerApp.map { "  \($0.app)  \($0.filters)" }
        return lines.joined(separator: "\n")
    }
}
