/// Every refusal of the memory core. Bad input from an app (a forged handle, a frame number past
/// the arena, a double free) is one of these, never a trap.
public enum MemoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The memory file could not be created, sized or mapped (the `errno`).
    case arenaUnavailable(errno: Int32)
    /// A configuration outside the core's limits (the message names the value and the limit).
    case invalidConfiguration(String)
    case frameOutOfRange(UInt32)
    /// Asked for a specific frame that someone owns.
    case frameInUse(UInt32)
    case noFreeFrames
    /// The frame is free, or owned by someone other than the principal acting on it.
    case notOwner(frame: UInt32, principal: Principal)
    case unknownApp(AppID)
    case tooManyApps
    case tooManyWorkers
    /// The guaranteed minimums of every app would exceed the arena.
    case guaranteeExceedsArena(requested: Int, available: Int)
    /// A handle that names no live capability: forged, altered, revoked or for a reused slot.
    case invalidCapability
    /// The capability is held by someone else than the principal presenting it.
    case notHolder(Principal)
    case insufficientRights(needed: Rights, held: Rights)
    /// The capability names another resource than the operation needs.
    case wrongResource
    /// A frame capability delegated to another app may carry `read` only: a frame has one writer.
    case writeSharingForbidden
    /// Only the kernel mints capabilities for resources other than newly allocated frames.
    case kernelOnly
    case pageOutOfRange(UInt32)
    case pageAlreadyBound(UInt32)
    case pageNotBound(UInt32)
    /// A binding must grant `read`, `write` or both: one with neither could never be used.
    case noAccessRights
    /// A write past the end of a frame.
    case outOfFrame(offset: Int, count: Int)
    case noPendingRevocation(AppID)

    public var description: String {
        switch self {
        case .arenaUnavailable(let errno): "cannot create the frame arena (errno \(errno))"
        case .invalidConfiguration(let message): "invalid memory core configuration: \(message)"
        case .frameOutOfRange(let frame): "frame \(frame) is past the end of the arena"
        case .frameInUse(let frame): "frame \(frame) is in use"
        case .noFreeFrames: "no free frames"
        case .notOwner(let frame, let principal): "frame \(frame) is not owned by \(principal)"
        case .unknownApp(let app): "\(app) is not registered"
        case .tooManyApps: "the app table is full"
        case .tooManyWorkers: "the worker table is full"
        case .guaranteeExceedsArena(let requested, let available):
            "guaranteed minimums of \(requested) frames exceed the arena's \(available)"
        case .invalidCapability: "not a live capability"
        case .notHolder(let principal): "the capability is not held by \(principal)"
        case .insufficientRights(let needed, let held): "needs rights \(needed), holds \(held)"
        case .wrongResource: "the capability names another resource"
        case .writeSharingForbidden: "a frame is shared with another app read-only"
        case .kernelOnly: "only the kernel mints this capability"
        case .pageOutOfRange(let page): "virtual page \(page) is past the app's page table"
        case .pageAlreadyBound(let page): "virtual page \(page) is already bound"
        case .pageNotBound(let page): "virtual page \(page) is not bound"
        case .noAccessRights: "a binding needs read or write rights"
        case .outOfFrame(let offset, let count): "\(count) bytes at \(offset) run past the frame"
        case .noPendingRevocation(let app): "no revocation is pending for \(app)"
        }
    }
}
