import DPFFilter
import DPFSyntax
import DPFWire

/// The result of analysing filter files: every app's filter trees, plus warnings worth showing.
public struct Analysis: Sendable {
    public var filterSet: FilterSet
    public var warnings: [Diagnostic]
}

/// Turns ASTs into normalised filter trees for one link type, checking everything the grammar
/// cannot: names, value kinds and widths, masks, ranges, prefixes, apps and labels.
///
/// As with tcpdump's `vlan` keyword, each `vlan` test moves the headers that later parts of the
/// filter text read 4 bytes further in, whatever the and/or/not structure around it.
public struct SemanticAnalyzer {
    public let linkType: LinkType
    /// Builds every atom; also carries the VLAN tags entered so far.
    var builder: FilterBuilder
    let source: SourceFile
    /// Whether errors carry "did you mean" notes; a file with thousands of errors gets them only
    /// for its first `maximumSuggestions` (nobody reads further, and each costs edit distances).
    var suggests = true
    public static let maximumSuggestions = 100
    /// What the filter asked for that this link cannot carry (each made its branch false).
    var impossibleOnLink: [String] = []

    struct Failure: Error {
        let diagnostic: Diagnostic
    }

    init(linkType: LinkType, source: SourceFile) {
        self.linkType = linkType
        self.builder = FilterBuilder(linkType: linkType)
        self.source = source
    }

    /// Analyses whole files; app names must be unique across all of them.
    public static func analyze(_ files: [FilterFile], linkType: LinkType = .ethernet) throws(DiagnosticError)
        -> Analysis
    {
        var errors: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        var apps: [AppFilters] = []
        var firstDeclaration: [String: (FilterFile, AppDecl)] = [:]
        for file in files {
            for app in file.apps {
                if let (otherFile, other) = firstDeclaration[app.name] {
                    let place =
                        "\(otherFile.source.name):\(otherFile.source.location(of: other.nameRange.start))"
                    errors.append(
                        Diagnostic(
                            .error, "duplicate app name '\(app.name)'", at: app.nameRange, in: file.source,
                            notes: ["'\(app.name)' was first declared at \(place)"]))
                    continue
                }
                firstDeclaration[app.name] = (file, app)
                let result = analyzeApp(app, in: file.source, linkType: linkType, errorsSoFar: errors.count)
                errors += result.errors
                warnings += result.warnings
                if let analysed = result.app { apps.append(analysed) }
            }
        }
        if !errors.isEmpty { throw DiagnosticError(errors + warnings) }
        return Analysis(filterSet: FilterSet(linkType: linkType, apps: apps), warnings: warnings)
    }

    /// Analyses one expression on its own (the `-e` form and tests).
    public static func analyzeExpression(_ expr: Expr, in source: SourceFile, linkType: LinkType = .ethernet)
        throws(DiagnosticError) -> FilterTree
    {
        var analyzer = SemanticAnalyzer(linkType: linkType, source: source)
        do {
            return Normalizer.normalize(try analyzer.translate(expr))
        } catch {
            throw DiagnosticError([error.diagnostic])
        }
    }

    private static func analyzeApp(
        _ app: AppDecl, in source: SourceFile, linkType: LinkType, errorsSoFar: Int
    )
        -> (app: AppFilters?, errors: [Diagnostic], warnings: [Diagnostic])
    {
        var errors: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        guard !app.filters.isEmpty else {
            return (
                nil, [Diagnostic(.error, "app '\(app.name)' has no filters", at: app.nameRange, in: source)],
                []
            )
        }
        var filters: [Filter] = []
        var labels: [String: SourceRange] = [:]
        for (index, declaration) in app.filters.enumerated() {
            let name = "\(app.name).\(declaration.label ?? String(index + 1))"
            if let label = declaration.label, let range = declaration.labelRange {
                if let first = labels[label] {
                    errors.append(
                        Diagnostic(
                            .error, "duplicate filter label '\(label)' in app '\(app.name)'", at: range,
                            in: source,
                            notes: [
                                "'\(label)' was first used at \(source.name):\(source.location(of: first.start))"
                            ]))
                    continue
                }
                labels[label] = range
            }
            switch declaration.body {
            case .pcap:
                errors.append(
                    Diagnostic(
                        .error,
                        "pcap-filter expressions are not supported yet; write this filter in the DPF language",
                        at: declaration.range, in: source))
            case .expression(let expr):
                var analyzer = SemanticAnalyzer(linkType: linkType, source: source)
                analyzer.suggests = errorsSoFar + errors.count < SemanticAnalyzer.maximumSuggestions
                do {
                    let tree = Normalizer.normalize(try analyzer.translate(expr))
                    if tree == .reject {
                        let reason =
                            analyzer.impossibleOnLink.isEmpty
                            ? "its conditions contradict each other"
                            : "link type \(linkType.name) cannot carry \(analyzer.impossibleOnLink.joined(separator: ", "))"
                        warnings.append(
                            Diagnostic(
                                .warning, "filter '\(name)' never matches: \(reason)", at: expr.range,
                                in: source))
                    }
                    let origin = "\(source.name):\(source.location(of: declaration.range.start))"
                    filters.append(Filter(name: name, label: declaration.label, tree: tree, origin: origin))
                } catch {
                    errors.append(error.diagnostic)
                }
            }
        }
        var grants: [String: Set<String>] = [:]
        for grant in app.grants {
            for label in grant.filters {
                let granted =
                    label == "*" ? filters.map(\.name) : filters.filter { $0.label == label }.map(\.name)
                if label != "*" && labels[label] == nil {
                    errors.append(
                        Diagnostic(
                            .error,
                            "grant names '\(label)', which is not a filter label of app '\(app.name)'",
                            at: grant.range,
                            in: source))
                }
                for name in granted { grants[name, default: []].formUnion(grant.apps) }
            }
        }
        let result = AppFilters(
            name: app.name, priority: app.priority ?? 0, isTap: app.isTap, filters: filters, grants: grants)
        return (errors.isEmpty ? result : nil, errors, warnings)
    }

    func failure(_ message: String, at range: SourceRange, notes: [String] = []) -> Failure {
        Failure(diagnostic: Diagnostic(.error, message, at: range, in: source, notes: notes))
    }

    // MARK: Expressions

    mutating func translate(_ expr: Expr) throws(Failure) -> FilterTree {
        switch expr.kind {
        case .and(let operands):
            // In source order: a `vlan` moves what later operands read.
            var children: [FilterTree] = []
            children.reserveCapacity(operands.count)
            for operand in operands { children.append(try translate(operand)) }
            return .all(children)
        case .or(let operands):
            var children: [FilterTree] = []
            children.reserveCapacity(operands.count)
            for operand in operands { children.append(try translate(operand)) }
            return .any(children)
        case .not(let operand):
            return .negation(try translate(operand))
        case .predicate(let name):
            return try predicate(name, at: expr.range)
        case .comparison(let operand, let op, let value):
            let resolved = try resolve(operand)
            return try resolved.compare(Relation(op), value, analyzer: self)
        case .membership(let operand, let set):
            let resolved = try resolve(operand)
            return try resolved.member(of: set, analyzer: self, range: expr.range)
        }
    }

    private mutating func predicate(_ name: String, at range: SourceRange) throws(Failure) -> FilterTree {
        guard let header = Header(rawValue: name) else {
            let known = Header.allCases.map(\.rawValue)
            let suggestion = suggests ? closestMatch(to: name, among: known) : nil
            throw failure(
                "unknown protocol '\(name)'; expected one of \(known.joined(separator: ", "))", at: range,
                notes: suggestion.map { ["did you mean '\($0)'?"] } ?? [])
        }
        do {
            if header == .vlan { return try builder.enterVLANTag() }
            return try builder.carries(header) ?? falseOnLink("'\(name)'")
        } catch {
            // A link-layer header the link lacks entirely (`vlan`, `eth` on raw IP): an error, as in libpcap.
            throw failure(error.message, at: range)
        }
    }

    /// A protocol this link can never carry (`ip6` on raw IPv4): that branch is false, as in
    /// libpcap, and the filter is flagged if it can then never match.
    mutating func falseOnLink(_ what: String) -> FilterTree {
        if !impossibleOnLink.contains(what) { impossibleOnLink.append(what) }
        return .reject
    }
}

extension Relation {
    init(_ op: ComparisonOperator) {
        switch op {
        case .equal: self = .equal
        case .notEqual: self = .notEqual
        case .less: self = .less
        case .lessOrEqual: self = .lessOrEqual
        case .greater: self = .greater
        case .greaterOrEqual: self = .greaterOrEqual
        }
    }
}
