/// The resource a capability names.
public enum Resource: Hashable, Sendable, CustomStringConvertible {
    /// Page frames `range` of the arena (a single frame is a range of one).
    case frames(Range<UInt32>)
    /// An app's right to bind its traffic in the network multiplexer.
    case networkBinding(AppID)
    /// A filter's guard: the authority to install, replace or remove that filter.
    case filterGuard(id: UInt64)

    public var description: String {
        switch self {
        case .frames(let range):
            range.count == 1
                ? "frame \(range.lowerBound)" : "frames \(range.lowerBound)-\(range.upperBound - 1)"
        case .networkBinding(let app): "network binding of \(app)"
        case .filterGuard(let id): "filter guard \(id)"
        }
    }

    func covers(frame: UInt32) -> Bool {
        if case .frames(let range) = self { return range.contains(frame) }
        return false
    }
}

/// What an app holds: an unguessable name of one entry in the core's capability table.
///
/// The capability itself (resource, rights, holder, derivation) lives in the table, where no app
/// can change it; the handle is a slot index, the slot's generation (so a handle to a slot that was
/// freed and reused is stale) and a 64-bit random tag drawn when the capability was created. A
/// handle an app invents or alters names a live capability only if it guesses the tag: probability
/// 2^-64 per try. Checking is one array index and three compares.
public struct CapabilityHandle: Hashable, Sendable, CustomStringConvertible {
    public let slot: UInt32
    public let generation: UInt32
    public let tag: UInt64

    public init(slot: UInt32, generation: UInt32, tag: UInt64) {
        self.slot = slot
        self.generation = generation
        self.tag = tag
    }

    public var description: String { "cap#\(slot).\(generation)" }
}

/// A live capability as the core reports it.
public struct Capability: Hashable, Sendable {
    public let handle: CapabilityHandle
    public let resource: Resource
    public let rights: Rights
    public let holder: Principal
    /// The capability this one was derived or delegated from; nil for a root.
    public let parent: CapabilityHandle?
}
