import DPFMemory
import DPFMux
import DPFTestSupport
import DPFTrie
import DPFWire
import Testing

/// Capabilities end to end: the multiplexer installs, removes and taps only on the authority of
/// a live capability held by the app that presents it, naming the right resource, with the
/// rights the operation needs. Every refusal is `MuxError.unauthorized` (or, for a steal without
/// the victim's guard, `.filter` with kind `.wouldSteal`) and changes nothing.
@Suite struct MuxCapabilityTests {
    /// A multiplexer with two apps, each with rings; `owner` has a web filter installed.
    struct Setup {
        let mux: Multiplexer
        let owner: MuxApp
        let intruder: MuxApp
        let web: InstalledMuxFilter

        init() throws {
            mux = try Multiplexer(
                MuxConfiguration(workers: 1, frames: 512, maxApps: 8, pagesPerApp: 64, batchSize: 16))
            owner = try mux.registerApp(named: "owner")
            try mux.createRings(for: owner.id, presenting: owner.binding, slots: 16)
            intruder = try mux.registerApp(named: "intruder")
            try mux.createRings(for: intruder.id, presenting: intruder.binding, slots: 16)
            web = try mux.install(
                Setup.request("web", "tcp.dport == 80"), for: owner.id, presenting: owner.binding)
        }

        static func request(_ name: String, _ expression: String, priority: Int = 0, isTap: Bool = false)
            throws -> FilterRequest
        {
            FilterRequest(
                name: name, tree: try RandomFilterSets.tree(expression), priority: priority, isTap: isTap)
        }

        /// What a refused operation must leave alone.
        var observed: [String] {
            mux.installedFilters.map { "\($0.id.rawValue) \($0.name) \($0.app) \($0.isTap)" }
                + ["generation \(mux.generation)"]
        }

        /// `body` is refused as unauthorized and changes neither the filters nor the generation.
        func expectUnauthorized(
            _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
        ) {
            let before = observed
            do {
                try body()
                Issue.record("\(what): accepted", sourceLocation: sourceLocation)
            } catch let error as MuxError {
                if case .unauthorized = error {
                } else {
                    Issue.record("\(what): \(error), not unauthorized", sourceLocation: sourceLocation)
                }
            } catch {
                Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
            }
            #expect(observed == before, "\(what) changed the multiplexer", sourceLocation: sourceLocation)
        }

        /// `body` is refused as a steal the installer has no guard for, and changes nothing.
        func expectWouldSteal(
            _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
        ) {
            let before = observed
            do {
                try body()
                Issue.record("\(what): accepted", sourceLocation: sourceLocation)
            } catch let error as MuxError {
                if case .filter(let refusal) = error, refusal.kind == .wouldSteal {
                } else {
                    Issue.record("\(what): \(error), not a steal", sourceLocation: sourceLocation)
                }
            } catch {
                Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
            }
            #expect(observed == before, "\(what) changed the multiplexer", sourceLocation: sourceLocation)
        }

        /// Tries every use of `binding` as `app`'s network binding: an exclusive filter, a tap.
        func expectBindingRefused(_ binding: CapabilityHandle, for app: MuxApp, _ what: String) throws {
            let exclusive = try Setup.request("ssh-\(what)", "tcp.dport == 22")
            let tap = try Setup.request("tap-\(what)", "ip4", isTap: true)
            expectUnauthorized("\(what): exclusive") {
                _ = try mux.install(exclusive, for: app.id, presenting: binding)
            }
            expectUnauthorized("\(what): tap") { _ = try mux.install(tap, for: app.id, presenting: binding) }
        }

        /// Tries every use of `filterGuard` held by `app`: removing `web`, and as the guard that
        /// lets `intruder` take web's packets.
        func expectGuardRefused(_ filterGuard: CapabilityHandle, by app: MuxApp, _ what: String) throws {
            expectUnauthorized("\(what): remove") {
                try mux.remove(web.id, by: app.id, presenting: filterGuard)
            }
            let steal = try Setup.request("steal-\(what)", "tcp.dport == 80", priority: 1)
            expectUnauthorized("\(what): in guards") {
                _ = try mux.install(
                    steal, for: intruder.id, presenting: intruder.binding, guards: [filterGuard])
            }
        }

        /// Runs `packets` through the multiplexer and drains every ring: (app name, tag) per packet.
        func deliver(_ packets: [[UInt8]]) throws -> [String: [UInt64]] {
            _ = try mux.run(InMemorySource(packets))
            var tags: [String: [UInt64]] = [:]
            for app in [owner, intruder] {
                tags[app.name] = try drainRings(of: app, in: mux).flatMap { $0.map(\.tag) }
            }
            return tags
        }
    }

    static func tcp(_ port: UInt16) -> [UInt8] {
        PacketBuilder.ethernet().ipv4(src: IPv4Address(10, 0, 0, 1), dst: IPv4Address(10, 1, 0, 5))
            .tcp(sourcePort: 40_000, destinationPort: port).bytes
    }

    @Test func forgedHandlesAreRefused() throws {
        let setup = try Setup()
        var random = SeededGenerator(seed: 0xF0F0)
        for round in 0..<40 {
            let forged =
                round % 2 == 0
                ? CapabilityHandle(
                    slot: UInt32.random(in: 0..<64, using: &random),
                    generation: UInt32.random(in: 0..<4, using: &random), tag: random.next())
                // The real binding's slot and generation, a guessed tag.
                : CapabilityHandle(
                    slot: setup.owner.binding.slot, generation: setup.owner.binding.generation,
                    tag: random.next())
            try setup.expectBindingRefused(forged, for: setup.owner, "forged \(round)")
            try setup.expectGuardRefused(forged, by: setup.owner, "forged \(round)")
        }
        // The real ones still work.
        _ = try setup.mux.install(
            Setup.request("tap", "ip4", isTap: true), for: setup.owner.id, presenting: setup.owner.binding)
        try setup.mux.remove(setup.web.id, by: setup.owner.id, presenting: setup.web.guardCapability)
        #expect(setup.mux.installedFilters.map(\.name) == ["tap"])
    }

    @Test func alteredHandlesAreRefused() throws {
        let setup = try Setup()
        func altered(_ handle: CapabilityHandle) -> [(String, CapabilityHandle)] {
            [
                (
                    "tag^1",
                    CapabilityHandle(slot: handle.slot, generation: handle.generation, tag: handle.tag ^ 1)
                ),
                (
                    "tag+2^63",
                    CapabilityHandle(
                        slot: handle.slot, generation: handle.generation, tag: handle.tag &+ 1 << 63)
                ),
                (
                    "generation+1",
                    CapabilityHandle(slot: handle.slot, generation: handle.generation &+ 1, tag: handle.tag)
                ),
                (
                    "generation-1",
                    CapabilityHandle(slot: handle.slot, generation: handle.generation &- 1, tag: handle.tag)
                ),
                (
                    "slot+1",
                    CapabilityHandle(slot: handle.slot &+ 1, generation: handle.generation, tag: handle.tag)
                ),
            ]
        }
        for (how, handle) in altered(setup.owner.binding) {
            try setup.expectBindingRefused(handle, for: setup.owner, "binding \(how)")
        }
        for (how, handle) in altered(setup.web.guardCapability) {
            try setup.expectGuardRefused(handle, by: setup.owner, "guard \(how)")
        }
        // A delegated guard, altered by the app it was delegated to.
        let lent = try setup.mux.grant(setup.web.guardCapability, to: setup.intruder.id, by: setup.owner.id)
        for (how, handle) in altered(lent) {
            setup.expectUnauthorized("lent guard \(how)") {
                _ = try setup.mux.install(
                    Setup.request("grab", "tcp.dport == 80", priority: 1), for: setup.intruder.id,
                    presenting: setup.intruder.binding, guards: [handle])
            }
        }
        // Unaltered, each does what it is for.
        _ = try setup.mux.install(
            Setup.request("grab", "tcp.dport == 80", priority: 1), for: setup.intruder.id,
            presenting: setup.intruder.binding, guards: [lent])
        try setup.mux.remove(setup.web.id, by: setup.owner.id, presenting: setup.web.guardCapability)
        #expect(setup.mux.installedFilters.map(\.name) == ["grab"])
    }

    @Test func staleHandlesAreRefused() throws {
        let setup = try Setup()
        let owner = setup.owner
        // A derived binding works until it is revoked.
        let derived = try setup.mux.memory.derive(
            owner.binding, rights: [.bindNetwork, .tap], by: .app(owner.id))
        let dns = try setup.mux.install(
            Setup.request("dns", "udp.dport == 53"), for: owner.id, presenting: derived)
        try setup.mux.memory.revoke(derived, by: .app(owner.id))
        try setup.expectBindingRefused(derived, for: owner, "revoked binding")
        // The filter installed with it stays.
        #expect(setup.mux.installedFilters.map(\.name) == ["web", "dns"])

        // The guard of a removed filter, and the delegation of it, die with the filter.
        let lent = try setup.mux.grant(dns.guardCapability, to: setup.intruder.id, by: owner.id)
        try setup.mux.remove(dns.id, by: owner.id, presenting: dns.guardCapability)
        try setup.expectGuardRefused(dns.guardCapability, by: owner, "removed filter's guard")
        setup.expectUnauthorized("removed filter's lent guard") {
            _ = try setup.mux.install(
                Setup.request("dns2", "udp.dport == 53", priority: 1), for: setup.intruder.id,
                presenting: setup.intruder.binding, guards: [lent])
        }
        setup.expectUnauthorized("granting a removed filter's guard") {
            _ = try setup.mux.grant(dns.guardCapability, to: setup.intruder.id, by: owner.id)
        }
        #expect(throws: MuxError.unknownFilter(dns.id)) {
            try setup.mux.remove(dns.id, by: owner.id, presenting: dns.guardCapability)
        }
        #expect(setup.mux.installedFilters.map(\.name) == ["web"])
    }

    @Test func attenuatedBindingsCarryOnlyTheirRights() throws {
        let setup = try Setup()
        let owner = setup.owner
        let tapOnly = try setup.mux.memory.derive(owner.binding, rights: [.tap], by: .app(owner.id))
        setup.expectUnauthorized("tap-only binding: exclusive filter") {
            _ = try setup.mux.install(
                Setup.request("ssh", "tcp.dport == 22"), for: owner.id, presenting: tapOnly)
        }
        _ = try setup.mux.install(
            Setup.request("watch", "ip4", isTap: true), for: owner.id, presenting: tapOnly)

        let bindOnly = try setup.mux.memory.derive(owner.binding, rights: [.bindNetwork], by: .app(owner.id))
        setup.expectUnauthorized("bind-network-only binding: tap") {
            _ = try setup.mux.install(
                Setup.request("watch6", "ip6", isTap: true), for: owner.id, presenting: bindOnly)
        }
        _ = try setup.mux.install(
            Setup.request("ssh", "tcp.dport == 22"), for: owner.id, presenting: bindOnly)

        let none = try setup.mux.memory.derive(owner.binding, rights: [], by: .app(owner.id))
        try setup.expectBindingRefused(none, for: owner, "rightless binding")
        setup.expectUnauthorized("rightless binding: attach rings") {
            try setup.mux.createRings(for: owner.id, presenting: none, firstPage: 40, slots: 4)
        }
        #expect(setup.mux.installedFilters.map(\.name) == ["web", "watch", "ssh"])
        #expect(setup.mux.installedFilters.map(\.isTap) == [false, true, false])
    }

    @Test func anotherAppsCapabilitiesAreRefused() throws {
        let setup = try Setup()
        let (mux, owner, intruder) = (setup.mux, setup.owner, setup.intruder)
        let dns = try mux.install(
            Setup.request("dns", "udp.dport == 53"), for: intruder.id, presenting: intruder.binding)
        // The owner's binding presented by the intruder, for itself or for the owner.
        try setup.expectBindingRefused(owner.binding, for: intruder, "owner's binding as the intruder's")
        try setup.expectBindingRefused(intruder.binding, for: owner, "intruder's binding for the owner")
        // The owner's binding lent to the intruder: held by the intruder, but the owner's binding.
        let lent = try mux.memory.delegate(
            owner.binding, to: intruder.id, rights: [.bindNetwork, .tap], by: .app(owner.id))
        try setup.expectBindingRefused(lent, for: intruder, "lent binding for the intruder")
        try setup.expectBindingRefused(lent, for: owner, "lent binding for the owner")
        // Guards: another app's, one for another filter, and a guard presented as a binding.
        try setup.expectGuardRefused(setup.web.guardCapability, by: intruder, "owner's guard by the intruder")
        setup.expectUnauthorized("intruder's own guard for web") {
            try mux.remove(setup.web.id, by: intruder.id, presenting: dns.guardCapability)
        }
        setup.expectUnauthorized("owner's guard for the intruder's filter") {
            try mux.remove(dns.id, by: owner.id, presenting: setup.web.guardCapability)
        }
        setup.expectUnauthorized("a binding as a guard") {
            try mux.remove(setup.web.id, by: owner.id, presenting: owner.binding)
        }
        try setup.expectBindingRefused(setup.web.guardCapability, for: owner, "a guard as a binding")
        // Rings in another app's name.
        let frames = mux.memory.frames(ownedBy: .app(owner.id))
        setup.expectUnauthorized("rings for the owner with the intruder's binding") {
            try mux.createRings(for: owner.id, presenting: intruder.binding, firstPage: 40, slots: 4)
        }
        #expect(mux.memory.frames(ownedBy: .app(owner.id)) == frames)
        #expect(mux.installedFilters.map(\.name) == ["web", "dns"])
    }

    @Test func revokedCapabilitiesAreRefused() throws {
        let setup = try Setup()
        let (mux, owner, intruder) = (setup.mux, setup.owner, setup.intruder)
        // The owner revokes its own guard: nobody can remove the filter with it any more.
        try mux.memory.revoke(setup.web.guardCapability, by: .app(owner.id))
        try setup.expectGuardRefused(setup.web.guardCapability, by: owner, "revoked guard")
        setup.expectUnauthorized("granting a revoked guard") {
            _ = try mux.grant(setup.web.guardCapability, to: intruder.id, by: owner.id)
        }
        // A delegation the owner takes back.
        let tls = try mux.install(
            Setup.request("tls", "tcp.dport == 443"), for: owner.id, presenting: owner.binding)
        let lent = try mux.grant(tls.guardCapability, to: intruder.id, by: owner.id)
        try mux.memory.revoke(lent, by: .app(owner.id))
        let grab = try Setup.request("grab", "tcp.dport == 443", priority: 1)
        setup.expectUnauthorized("revoked delegation") {
            _ = try mux.install(grab, for: intruder.id, presenting: intruder.binding, guards: [lent])
        }
        setup.expectWouldSteal("no delegation") {
            _ = try mux.install(grab, for: intruder.id, presenting: intruder.binding)
        }
        // An app that revokes its own root binding can do nothing more with it.
        let doomed = try mux.registerApp(named: "doomed")
        try mux.createRings(for: doomed.id, presenting: doomed.binding, slots: 4)
        _ = try mux.install(Setup.request("arp", "arp"), for: doomed.id, presenting: doomed.binding)
        try mux.memory.revoke(doomed.binding, by: .app(doomed.id))
        try setup.expectBindingRefused(doomed.binding, for: doomed, "revoked root binding")
        setup.expectUnauthorized("revoked root binding: rings") {
            try mux.createRings(for: doomed.id, presenting: doomed.binding, firstPage: 40, slots: 4)
        }
        #expect(mux.installedFilters.map(\.name) == ["web", "tls", "arp"])
    }

    @Test func takingAnotherAppsPacketsNeedsItsGuard() throws {
        let setup = try Setup()
        let (mux, owner, intruder) = (setup.mux, setup.owner, setup.intruder)
        let tls = try mux.install(
            Setup.request("tls", "tcp.dport == 443"), for: owner.id, presenting: owner.binding)
        let grab = try Setup.request("grab", "tcp.dport == 80", priority: 1)
        setup.expectWouldSteal("no guard") {
            _ = try mux.install(grab, for: intruder.id, presenting: intruder.binding)
        }
        // The guard of a filter it does not overlap does not help.
        let tlsLent = try mux.grant(tls.guardCapability, to: intruder.id, by: owner.id)
        setup.expectWouldSteal("another filter's guard") {
            _ = try mux.install(grab, for: intruder.id, presenting: intruder.binding, guards: [tlsLent])
        }
        // Web's own guard, not delegated, or forged: unauthorized.
        setup.expectUnauthorized("the owner's guard, not delegated") {
            _ = try mux.install(
                grab, for: intruder.id, presenting: intruder.binding, guards: [setup.web.guardCapability])
        }
        var random = SeededGenerator(seed: 77)
        for _ in 0..<8 {
            let forged = CapabilityHandle(
                slot: UInt32.random(in: 0..<64, using: &random), generation: 0, tag: random.next())
            setup.expectUnauthorized("a forged guard") {
                _ = try mux.install(
                    grab, for: intruder.id, presenting: intruder.binding, guards: [tlsLent, forged])
            }
        }
        // Before the grant, web's packets are the owner's.
        #expect(
            try setup.deliver([Self.tcp(80), Self.tcp(443)])
                == ["owner": [UInt64(setup.web.id.rawValue), UInt64(tls.id.rawValue)], "intruder": []])

        let webLent = try mux.grant(setup.web.guardCapability, to: intruder.id, by: owner.id)
        let generation = mux.generation
        let grabbed = try mux.install(grab, for: intruder.id, presenting: intruder.binding, guards: [webLent])
        #expect(mux.generation == generation + 1)
        #expect(mux.installedFilters.map(\.name) == ["web", "tls", "grab"])
        #expect(
            try setup.deliver([Self.tcp(80), Self.tcp(443), Self.tcp(80)])
                == [
                    "owner": [UInt64(tls.id.rawValue)],
                    "intruder": [UInt64(grabbed.id.rawValue), UInt64(grabbed.id.rawValue)],
                ])

        // The delegation carries bind-network only: it can neither remove web nor be passed on.
        setup.expectUnauthorized("removing with a bind-network delegation") {
            try mux.remove(setup.web.id, by: intruder.id, presenting: webLent)
        }
        setup.expectUnauthorized("passing a delegation on") {
            _ = try mux.grant(webLent, to: owner.id, by: intruder.id)
        }
        // Removing web kills the delegation: it no longer counts as a guard.
        try mux.remove(setup.web.id, by: owner.id, presenting: setup.web.guardCapability)
        setup.expectUnauthorized("a delegation of a removed filter") {
            _ = try mux.install(
                Setup.request("grab2", "tcp.dport == 8080", priority: 1), for: intruder.id,
                presenting: intruder.binding, guards: [webLent])
        }
        #expect(mux.installedFilters.map(\.name) == ["tls", "grab"])
    }
}
