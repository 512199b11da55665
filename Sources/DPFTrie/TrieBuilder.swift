import DPFFilter

/// A filter of a filter set that could not be installed, with where it was written.
public struct TrieBuildError: Error, Sendable, CustomStringConvertible {
    /// `file:line:col` of the filter.
    public let origin: String
    public let error: TrieError

    public var description: String { "\(origin): error: \(error.message)" }
}

/// Builds the trie for a whole filter set, as `dpf compile` does for files.
///
/// A file declares all its apps at once, so it cannot lean on install order: whenever two apps'
/// filters collide, the one that loses the shared packets must grant them, whichever came first
/// (`grant LABEL to APP` in the losing app). Ties are refused outright.
public enum TrieBuilder {
    public static func build(_ set: FilterSet) -> (trie: DecisionTrie, errors: [TrieBuildError]) {
        let trie = DecisionTrie(linkType: set.linkType)
        var grants: [String: Set<String>] = [:]
        for app in set.apps { grants.merge(app.grants) { $0.union($1) } }
        var errors: [TrieBuildError] = []
        for (app, filter) in set.allFilters {
            do throws(TrieError) {
                let (tree, paths) = try trie.admit(name: filter.name, tree: filter.tree)
                try trie.checkRank(name: filter.name, priority: app.priority, paths: paths)
                if !app.isTap {
                    for collision in trie.collisions(app: app.name, priority: app.priority, paths: paths) {
                        let other = trie.filter(collision.other)!
                        let granted: Bool
                        switch collision.kind {
                        case .tie: granted = false
                        case .wouldSteal: granted = grants[other.name]?.contains(app.name) ?? false
                        case .wouldLose: granted = grants[filter.name]?.contains(other.app) ?? false
                        }
                        guard granted else {
                            throw trie.refusal(
                                for: collision, name: filter.name, app: app.name, priority: app.priority,
                                paths: paths)
                        }
                    }
                }
                trie.install(
                    name: filter.name, app: app.name, priority: app.priority, isTap: app.isTap,
                    tree: tree, paths: paths)
            } catch {
                errors.append(TrieBuildError(origin: filter.origin, error: error))
            }
        }
        return (trie, errors)
    }
}
