/// What a capability lets its holder do with the resource it names. (The single rights are
/// inlinable computed values, not stored statics: every translation on the packet path names two,
/// and a stored static is a call to its lazy accessor from another module.)
public struct Rights: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Read a frame (bind it readable, read through a translation).
    @inlinable public static var read: Rights { Rights(rawValue: 1 << 0) }
    /// Write a frame (bind it writable, write through a translation).
    @inlinable public static var write: Rights { Rights(rawValue: 1 << 1) }
    /// Derive a capability with fewer rights, or delegate one to another app.
    @inlinable public static var grant: Rights { Rights(rawValue: 1 << 2) }
    /// Bind the app's traffic (a network binding).
    @inlinable public static var bindNetwork: Rights { Rights(rawValue: 1 << 3) }
    /// See other apps' traffic (a tap).
    @inlinable public static var tap: Rights { Rights(rawValue: 1 << 4) }
    /// Revoke this capability or anything derived from it.
    @inlinable public static var revoke: Rights { Rights(rawValue: 1 << 5) }

    public static let all: Rights = [.read, .write, .grant, .bindNetwork, .tap, .revoke]
    /// The rights an app gets on a frame it allocates.
    public static let frameOwner: Rights = [.read, .write, .grant, .revoke]

    /// One letter per right, `-` when absent, in a fixed order: `rwgbtv`.
    public var description: String {
        let letters: [(Rights, Character)] = [
            (.read, "r"), (.write, "w"), (.grant, "g"), (.bindNetwork, "b"), (.tap, "t"), (.revoke, "v"),
        ]
        return String(letters.map { contains($0.0) ? $0.1 : "-" })
    }
}
