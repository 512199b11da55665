import DPFMemory
import Testing

@Suite struct CapabilityTests {
    @Test func allocationGivesTheOwnerARootCapability() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let grant = try core.allocate(for: .app(app))
        let capability = try core.capability(grant.capability)
        #expect(capability.resource == .frames(0..<1))
        #expect(capability.rights == .frameOwner)
        #expect(capability.holder == .app(app))
        #expect(capability.parent == nil)
        #expect(core.check(grant.capability, rights: [.read, .write], by: .app(app)))
        #expect(!core.check(grant.capability, rights: .tap, by: .app(app)))
    }

    @Test func forgedAlteredAndStaleHandlesAreRefused() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let grant = try core.allocate(for: .app(app))
        let real = grant.capability
        var random = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let forged = CapabilityHandle(
                slot: UInt32.random(in: 0..<4, using: &random),
                generation: UInt32.random(in: 0..<2, using: &random),
                tag: random.next())
            #expect(!core.check(forged, rights: [], by: .app(app)))
        }
        for bit in 0..<64 {
            let altered = CapabilityHandle(
                slot: real.slot, generation: real.generation, tag: real.tag ^ (1 << bit))
            #expect(!core.check(altered, rights: [], by: .app(app)))
        }
        for bit in 0..<32 {
            let slot = CapabilityHandle(
                slot: real.slot ^ (1 << bit), generation: real.generation, tag: real.tag)
            let generation = CapabilityHandle(
                slot: real.slot, generation: real.generation ^ (1 << bit), tag: real.tag)
            #expect(!core.check(slot, rights: [], by: .app(app)))
            #expect(!core.check(generation, rights: [], by: .app(app)))
        }
        try core.free(grant.frame, by: .app(app))
        #expect(!core.check(real, rights: [], by: .app(app)))
        #expect(throws: MemoryError.invalidCapability) { try core.capability(real) }
        // The slot is reused by the next capability; the old handle stays stale.
        let again = try core.allocate(for: .app(app))
        #expect(again.capability.slot == real.slot)
        #expect(again.capability.generation != real.generation)
        #expect(!core.check(real, rights: [], by: .app(app)))
    }

    @Test func derivingAttenuatesAndNeedsGrant() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        let grant = try core.allocate(for: .app(app))
        let readOnly = try core.derive(grant.capability, rights: .read, by: .app(app))
        #expect(try core.capability(readOnly).rights == .read)
        #expect(try core.capability(readOnly).parent == grant.capability)
        #expect(throws: MemoryError.insufficientRights(needed: .grant, held: .read)) {
            try core.derive(readOnly, rights: .read, by: .app(app))
        }
        #expect(throws: MemoryError.insufficientRights(needed: [.read, .tap], held: .frameOwner)) {
            try core.derive(grant.capability, rights: [.read, .tap], by: .app(app))
        }
        let other = try core.registerApp()
        #expect(throws: MemoryError.notHolder(.app(other))) {
            try core.derive(grant.capability, rights: .read, by: .app(other))
        }
    }

    @Test func framesAreSharedWithOtherAppsReadOnly() throws {
        let core = try MemoryCore(frames: 4)
        let owner = try core.registerApp()
        let reader = try core.registerApp()
        let grant = try core.allocate(for: .app(owner))
        #expect(throws: MemoryError.writeSharingForbidden) {
            try core.delegate(grant.capability, to: reader, rights: [.read, .write], by: .app(owner))
        }
        let shared = try core.share(grant.capability, with: reader, by: .app(owner))
        #expect(try core.capability(shared).holder == .app(reader))
        #expect(throws: MemoryError.insufficientRights(needed: [.read, .write], held: .read)) {
            try core.bind(reader, page: 0, to: grant.frame, rights: [.read, .write], using: shared)
        }
        try core.bind(reader, page: 0, to: grant.frame, rights: .read, using: shared)
        #expect(core.pageTable(of: reader).mappings == [Mapping(page: 0, frame: 0, rights: .read)])
    }

    @Test func revokingInvalidatesTheWholeSubtreeAndItsBindings() throws {
        let core = try MemoryCore(frames: 4)
        let owner = try core.registerApp()
        let reader = try core.registerApp()
        let grant = try core.allocate(for: .app(owner))
        let middle = try core.derive(grant.capability, rights: [.read, .grant, .revoke], by: .app(owner))
        let shared = try core.delegate(middle, to: reader, rights: .read, by: .app(owner))
        try core.bind(reader, page: 7, to: grant.frame, rights: .read, using: shared)
        try core.bind(owner, page: 1, to: grant.frame, rights: [.read, .write], using: grant.capability)
        // The reader cannot revoke (no revoke right); the owner can, on the authority of an ancestor.
        #expect(throws: MemoryError.insufficientRights(needed: .revoke, held: .read)) {
            try core.revoke(shared, by: .app(reader))
        }
        try core.revoke(middle, by: .app(owner))
        #expect(!core.check(middle, rights: [], by: .app(owner)))
        #expect(!core.check(shared, rights: [], by: .app(reader)))
        #expect(core.check(grant.capability, rights: .write, by: .app(owner)))
        #expect(core.pageTable(of: reader).mappings.isEmpty)
        #expect(core.pageTable(of: owner).mappings.count == 1)
    }

    @Test func revocationOfADeepChainIsIterative() throws {
        let core = try MemoryCore(frames: 1)
        let app = try core.registerApp()
        let grant = try core.allocate(for: .app(app))
        var handles = [grant.capability]
        for _ in 0..<50_000 {
            handles.append(try core.derive(handles.last!, rights: .frameOwner, by: .app(app)))
        }
        try core.revoke(handles[1], authority: grant.capability, by: .app(app))
        #expect(handles.dropFirst().allSatisfy { !core.check($0, rights: [], by: .app(app)) })
        #expect(core.capabilities(heldBy: .app(app)).count == 1)
    }

    @Test func revokeNeedsAnAncestorAsAuthority() throws {
        let core = try MemoryCore(frames: 2)
        let app = try core.registerApp()
        let first = try core.allocate(for: .app(app))
        let second = try core.allocate(for: .app(app))
        let child = try core.derive(second.capability, rights: .read, by: .app(app))
        #expect(throws: MemoryError.wrongResource) {
            try core.revoke(child, authority: first.capability, by: .app(app))
        }
        try core.revoke(child, authority: second.capability, by: .app(app))
        #expect(!core.check(child, rights: [], by: .app(app)))
    }

    @Test func filterGuardsAndNetworkBindingsAreCapabilities() throws {
        let core = try MemoryCore(frames: 1)
        let app = try core.registerApp()
        let other = try core.registerApp()
        #expect(throws: MemoryError.kernelOnly) {
            try core.mint(.filterGuard(id: 42), rights: .all, for: .app(app), by: .app(app))
        }
        let guardCapability = try core.mint(
            .filterGuard(id: 42), rights: [.grant, .revoke, .tap], for: .app(app), by: .kernel)
        #expect(try core.capability(guardCapability).resource == .filterGuard(id: 42))
        let tapOnly = try core.delegate(guardCapability, to: other, rights: .tap, by: .app(app))
        #expect(core.check(tapOnly, rights: .tap, by: .app(other)))
        #expect(!core.check(tapOnly, rights: .tap, by: .app(app)))
        try core.revoke(guardCapability, by: .app(app))
        #expect(!core.check(tapOnly, rights: .tap, by: .app(other)))

        let network = try core.mint(.networkBinding(app), rights: .bindNetwork, for: .app(app), by: .kernel)
        #expect(core.check(network, rights: .bindNetwork, by: .app(app)))
        try core.revoke(network, by: .kernel)
        #expect(!core.check(network, rights: .bindNetwork, by: .app(app)))
    }

    @Test func rangeCapabilitiesDieWithAnyOfTheirFrames() throws {
        let core = try MemoryCore(frames: 4)
        let app = try core.registerApp()
        for _ in 0..<3 { _ = try core.allocate(for: .app(app)) }
        #expect(throws: MemoryError.notOwner(frame: 3, principal: .app(app))) {
            try core.mint(.frames(1..<4), rights: .frameOwner, for: .app(app), by: .kernel)
        }
        let range = try core.mint(.frames(0..<3), rights: [.read, .write], for: .app(app), by: .kernel)
        try core.bind(app, page: 0, to: 0, rights: .write, using: range)
        try core.bind(app, page: 2, to: 2, rights: .read, using: range)
        #expect(throws: MemoryError.wrongResource) {
            try core.bind(app, page: 3, to: 3, rights: .read, using: range)
        }
        try core.free(1, by: .app(app))
        #expect(!core.check(range, rights: [], by: .app(app)))
        #expect(core.pageTable(of: app).mappings.isEmpty)
    }
}
