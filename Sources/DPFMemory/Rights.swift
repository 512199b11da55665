/// What a capability lets its holder do with the resource it names.
public struct Rights: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Read a frame (bind it readable, read through a translation).
    public static let read = Rights(rawValue: 1 << 0)
    /// Write a frame (bind it writable, write through a translation).
    public static let write = Rights(rawValue: 1 << 1)
    /// Derive a capability with fewer rights, or delegate one to another app.
    public static let grant = Rights(rawValue: 1 << 2)
    /// Bind the app's traffic (a network binding).
    public static let bindNetwork = Rights(rawValue: 1 << 3)
    /// See other apps' traffic (a tap).
    public static let tap = Rights(rawValue: 1 << 4)
    /// Revoke this capability or anything derived from it.
    public static let revoke = Rights(rawValue: 1 << 5)

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
