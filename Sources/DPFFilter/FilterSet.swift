import DPFWire

/// Every app's filters after semantic analysis: what the later stages (trie, compiler, mux) take.
public struct FilterSet: Sendable, Equatable {
    public var linkType: LinkType
    public var apps: [AppFilters]

    public init(linkType: LinkType, apps: [AppFilters]) {
        self.linkType = linkType
        self.apps = apps
    }

    public var filterCount: Int { apps.reduce(0) { $0 + $1.filters.count } }

    /// Every filter with its app, in declaration order.
    public var allFilters: [(app: AppFilters, filter: Filter)] {
        apps.flatMap { app in app.filters.map { (app, $0) } }
    }
}

/// One app: a name, a priority, whether it is a tap, and its filters.
public struct AppFilters: Sendable, Equatable {
    public var name: String
    public var priority: Int
    public var isTap: Bool
    public var filters: [Filter]
    /// For each of this app's filters (by full name), the apps allowed to take packets from it.
    public var grants: [String: Set<String>]

    public init(
        name: String, priority: Int = 0, isTap: Bool = false, filters: [Filter],
        grants: [String: Set<String>] = [:]
    ) {
        self.name = name
        self.priority = priority
        self.isTap = isTap
        self.filters = filters
        self.grants = grants
    }
}

/// One filter: its name (`app.label`, or `app.N` for the N-th unlabelled filter) and its tree.
public struct Filter: Sendable, Equatable {
    public var name: String
    public var label: String?
    public var tree: FilterTree
    /// `file:line:col` of the filter's text, for messages.
    public var origin: String

    public init(name: String, label: String? = nil, tree: FilterTree, origin: String = "") {
        self.name = name
        self.label = label
        self.tree = tree
        self.origin = origin
    }
}
