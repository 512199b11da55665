/// A filter as DPF sees it: atoms joined by and/or/not. Semantic analysis produces these from the
/// AST; every engine evaluates them; `Normalizer` puts them in canonical form.
public indirect enum FilterTree: Sendable, Hashable {
    case constant(Bool)
    case atom(Atom)
    case and([FilterTree])
    case or([FilterTree])
    case not(FilterTree)

    public static let accept = FilterTree.constant(true)
    public static let reject = FilterTree.constant(false)

    /// Every atom in the tree, in order of appearance.
    public var atoms: [Atom] {
        switch self {
        case .constant: return []
        case .atom(let atom): return [atom]
        case .and(let children), .or(let children): return children.flatMap(\.atoms)
        case .not(let child): return child.atoms
        }
    }

    /// Conjunction that folds constants and flattens nested `and`s.
    public static func all(_ children: [FilterTree]) -> FilterTree {
        var flat: [FilterTree] = []
        for child in children {
            switch child {
            case .constant(true): continue
            case .constant(false): return .reject
            case .and(let grandchildren): flat += grandchildren
            default: flat.append(child)
            }
        }
        if flat.isEmpty { return .accept }
        return flat.count == 1 ? flat[0] : .and(flat)
    }

    /// Disjunction that folds constants and flattens nested `or`s.
    public static func any(_ children: [FilterTree]) -> FilterTree {
        var flat: [FilterTree] = []
        for child in children {
            switch child {
            case .constant(false): continue
            case .constant(true): return .accept
            case .or(let grandchildren): flat += grandchildren
            default: flat.append(child)
            }
        }
        if flat.isEmpty { return .reject }
        return flat.count == 1 ? flat[0] : .or(flat)
    }

    /// Negation that folds constants and double negation.
    public static func negation(_ child: FilterTree) -> FilterTree {
        switch child {
        case .constant(let value): return .constant(!value)
        case .not(let inner): return inner
        default: return .not(child)
        }
    }
}
