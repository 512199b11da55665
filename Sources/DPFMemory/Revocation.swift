/// A revocation the core asked of an app: give back `remaining` more frames by `deadline`.
public struct RevocationRequest: Hashable, Sendable {
    /// Frames asked for.
    public let count: Int
    /// Frames still to give back.
    public internal(set) var remaining: Int
    /// Logical time (the clock `expireDeadlines(now:)` is given) by which to comply.
    public let deadline: UInt64
}

/// One frame taken from an app by force, in its repossession vector.
public struct Repossession: Hashable, Sendable {
    public let frame: UInt32
    /// The logical time of the expiry that took it.
    public let time: UInt64
    /// Pages of the app that were bound to the frame and are now unbound.
    public let pages: [UInt32]

    public init(frame: UInt32, time: UInt64, pages: [UInt32]) {
        self.frame = frame
        self.time = time
        self.pages = pages
    }
}

/// What the core tells an app, in order, through its notification queue.
public enum MemoryNotification: Hashable, Sendable {
    /// Give back `count` frames by `deadline`; you choose which.
    case revocationRequested(count: Int, deadline: UInt64)
    /// The deadline passed: these frames (ascending) were repossessed and are in your
    /// repossession vector; `cancelledWrites` writes queued for them were dropped.
    case repossessed(frames: [UInt32], time: UInt64, cancelledWrites: Int)
}

extension MemoryCore {
    /// Asks `app` to give back `count` frames by `deadline` (visible revocation). The app sees the
    /// request through `pendingRevocation(of:)` and a notification, and answers with `giveBack`.
    /// A new request replaces a pending one.
    public func requestRevocation(from app: AppID, count: Int, deadline: UInt64) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            _ = try state.record(app)
            let request = RevocationRequest(
                count: max(count, 0), remaining: max(count, 0), deadline: deadline)
            state.apps[Int(app.index)]!.pending = request
            state.apps[Int(app.index)]!.notifications.append(
                .revocationRequested(count: request.count, deadline: deadline))
        }
    }

    /// The app's pending request, if any.
    public func pendingRevocation(of app: AppID) -> RevocationRequest? {
        state.withLock { $0.apps[safe: app.index]??.pending }
    }

    /// Takes the app's notifications, oldest first.
    public func takeNotifications(of app: AppID) -> [MemoryNotification] {
        state.withLock { state in
            guard state.apps[safe: app.index] != nil, state.apps[Int(app.index)] != nil else { return [] }
            defer { state.apps[Int(app.index)]!.notifications = [] }
            return state.apps[Int(app.index)]!.notifications
        }
    }

    /// The app's repossession vector: every frame taken from it by force, in order.
    public func repossessionVector(of app: AppID) -> [Repossession] {
        state.withLock { $0.apps[safe: app.index]??.repossessed ?? [] }
    }

    /// The app's answer to a request: it gives back frames of its choosing (all must be its own,
    /// or none is taken). They are freed and zeroed like `free`, and count against the request.
    public func giveBack(_ frames: [UInt32], from app: AppID) throws(MemoryError) {
        try state.withLock { (state: inout State) throws(MemoryError) in
            let record = try state.record(app)
            guard var request = record.pending else { throw .noPendingRevocation(app) }
            for frame in frames {
                guard Int(frame) < state.frames.count else { throw .frameOutOfRange(frame) }
                guard state.frames[frame].owner == .app(app) else {
                    throw .notOwner(frame: frame, principal: .app(app))
                }
            }
            let unique = Array(Set(frames)).sorted()
            state.reclaim(unique, machine: machine)
            request.remaining = max(0, request.remaining - unique.count)
            state.apps[Int(app.index)]!.pending = request.remaining == 0 ? nil : request
        }
    }

    /// Repossesses by force from every app whose deadline is at or before `now`: what it still
    /// owes, but never below its guaranteed minimum. The frames taken are its unbound frames
    /// before its bound ones, the highest-numbered first within each group (an app that keeps
    /// using a few low frames loses the idle ones first). Bindings are broken, TLB entries
    /// flushed, queued writes cancelled, the frames zeroed and freed, the repossession vector
    /// extended and the app notified. The request ends at its deadline either way (an app at its
    /// minimum is notified of an empty repossession). Returns the frames taken per app.
    @discardableResult
    public func expireDeadlines(now: UInt64) -> [AppID: [UInt32]] {
        state.withLock { state in
            var taken: [AppID: [UInt32]] = [:]
            for index in state.apps.indices {
                guard let record = state.apps[index], let request = record.pending, request.deadline <= now
                else { continue }
                let app = AppID(UInt32(index))
                let owned = state.frames.frames(ownedBy: .app(app))
                let allowance = max(0, owned.count - record.guaranteedFrames)
                let unbound = owned.filter { state.frames[$0].bindings.isEmpty }
                let bound = owned.filter { !state.frames[$0].bindings.isEmpty }
                let victims = Array(
                    (unbound.reversed() + bound.reversed()).prefix(min(request.remaining, allowance)))
                var pages: [UInt32: [UInt32]] = [:]
                for frame in victims where !state.frames[frame].bindings.isEmpty {
                    var bound: [UInt32] = []
                    for key in state.frames[frame].bindings where key.app == app { bound.append(key.page) }
                    pages[frame] = bound.sorted()
                }
                let cancelled = state.reclaim(victims, machine: machine)
                let sorted = victims.sorted()
                state.apps[index]!.pending = nil
                state.apps[index]!.repossessed.append(
                    contentsOf: sorted.map { Repossession(frame: $0, time: now, pages: pages[$0] ?? []) })
                state.apps[index]!.notifications.append(
                    .repossessed(frames: sorted, time: now, cancelledWrites: cancelled[app] ?? 0))
                taken[app] = sorted
            }
            return taken
        }
    }
}

extension Array {
    subscript(safe index: UInt32) -> Element? {
        Int(index) < count ? self[Int(index)] : nil
    }
}
