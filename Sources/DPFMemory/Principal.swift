/// An application, by its slot in the core's app table (small, dense, fixed for the app's life).
public struct AppID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let index: UInt32

    public init(_ index: UInt32) { self.index = index }

    public static func < (a: AppID, b: AppID) -> Bool { a.index < b.index }

    public var description: String { "app \(index)" }
}

/// Who can own a frame or hold a capability: the multiplexer itself, or an application.
public enum Principal: Hashable, Comparable, Sendable, CustomStringConvertible {
    case kernel
    case app(AppID)

    public var app: AppID? {
        if case .app(let id) = self { return id }
        return nil
    }

    public var description: String {
        switch self {
        case .kernel: "kernel"
        case .app(let id): id.description
        }
    }
}
