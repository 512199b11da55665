import DPFBytecode
import DPFTrie

/// The filters an engine's verdicts name, numbered in install order (the numbers a compiled
/// program gives them), with their apps: every engine reports filter numbers into one of these,
/// so the delivery layer maps a verdict to its app with one array read, whichever engine ran.
public struct FilterTable: Sendable {
    public struct Filter: Sendable, Equatable {
        /// The stable id the trie gave the filter (`FilterID`).
        public let id: FilterID
        public let name: String
        /// The filter's app, as an index into `apps`.
        public let app: Int32
        public let isTap: Bool
    }

    public struct App: Sendable, Equatable {
        public let name: String
        /// Whether the app's first filter is a tap (an app is all taps or all exclusive).
        public let isTap: Bool
    }

    public let filters: [Filter]
    /// Apps in order of their first filter.
    public let apps: [App]

    /// Each filter's app: `appOfFilter[number]` (kept apart for the delivery layer's loop).
    public let appOfFilter: [Int32]

    /// The installed filters of `trie`, in install order.
    public init(_ trie: DecisionTrie) {
        self.init(trie.installed.map { ($0.id, $0.filter.name, $0.filter.app, $0.filter.isTap) })
    }

    /// The filters of a verified program, by program number.
    public init(_ program: VerifiedProgram) {
        self.init(program.program.filters.map { (FilterID(rawValue: $0.id), $0.name, $0.app, $0.isTap) })
    }

    private init(_ entries: [(id: FilterID, name: String, app: String, isTap: Bool)]) {
        var index: [String: Int32] = [:]
        var apps: [App] = []
        filters = entries.map { entry in
            let app: Int32
            if let known = index[entry.app] {
                app = known
            } else {
                app = Int32(apps.count)
                index[entry.app] = app
                apps.append(App(name: entry.app, isTap: entry.isTap))
            }
            return Filter(id: entry.id, name: entry.name, app: app, isTap: entry.isTap)
        }
        self.apps = apps
        appOfFilter = filters.map(\.app)
    }

    public var count: Int { filters.count }
}
