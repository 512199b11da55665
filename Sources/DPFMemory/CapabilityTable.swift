/// The core-side table of capabilities: a slab of slots, each with a generation and a random tag,
/// and a derivation tree threaded through the slots (parent, first child, next and previous
/// sibling) so that revoking one capability walks exactly its subtree.
///
/// Not thread-safe by itself: the core keeps it under its control-plane lock.
struct CapabilityTable {
    struct Slot {
        var generation: UInt32 = 0
        var tag: UInt64 = 0
        var live = false
        var resource: Resource = .filterGuard(id: 0)
        var rights: Rights = []
        var holder: Principal = .kernel
        var parent: UInt32 = Slot.none
        var firstChild: UInt32 = Slot.none
        var nextSibling: UInt32 = Slot.none
        var previousSibling: UInt32 = Slot.none
        /// Page-table bindings made with this capability, broken when it is revoked.
        var bindings: [PageKey] = []

        static let none = UInt32.max
    }

    private(set) var slots: [Slot] = []
    private var freeSlots: [UInt32] = []
    private var random = SystemRandomNumberGenerator()
    private(set) var liveCount = 0
    /// Scratch space for `revokeSubtree`, kept to spare an allocation per revocation.
    private var stack: [UInt32] = []

    /// The slot a handle names, if it is live and the handle is exactly its own.
    @inline(__always)
    func resolve(_ handle: CapabilityHandle) -> UInt32? {
        guard Int(handle.slot) < slots.count else { return nil }
        let slot = slots[Int(handle.slot)]
        guard slot.live, slot.generation == handle.generation, slot.tag == handle.tag else { return nil }
        return handle.slot
    }

    /// Checks `handle` for `holder` and `rights` in O(1).
    func check(_ handle: CapabilityHandle, holder: Principal, rights: Rights) throws(MemoryError) -> UInt32 {
        guard let index = resolve(handle) else { throw .invalidCapability }
        let slot = slots[Int(index)]
        guard holder == .kernel || slot.holder == holder else { throw .notHolder(holder) }
        guard slot.rights.isSuperset(of: rights) else {
            throw .insufficientRights(needed: rights, held: slot.rights)
        }
        return index
    }

    subscript(index: UInt32) -> Slot {
        get { slots[Int(index)] }
        _modify { yield &slots[Int(index)] }
    }

    func handle(_ index: UInt32) -> CapabilityHandle {
        let slot = slots[Int(index)]
        return CapabilityHandle(slot: index, generation: slot.generation, tag: slot.tag)
    }

    func capability(_ index: UInt32) -> Capability {
        let slot = slots[Int(index)]
        return Capability(
            handle: handle(index), resource: slot.resource, rights: slot.rights, holder: slot.holder,
            parent: slot.parent == Slot.none ? nil : handle(slot.parent))
    }

    /// A new capability, a root when `parent` is nil, else the parent's newest child.
    mutating func insert(resource: Resource, rights: Rights, holder: Principal, parent: UInt32?) -> UInt32 {
        let index: UInt32
        if let reused = freeSlots.popLast() {
            index = reused
        } else {
            index = UInt32(slots.count)
            slots.append(Slot())
        }
        var tag: UInt64 = 0
        while tag == 0 { tag = random.next() }
        var slot = slots[Int(index)]
        slot.tag = tag
        slot.live = true
        slot.resource = resource
        slot.rights = rights
        slot.holder = holder
        slot.parent = parent ?? Slot.none
        slot.firstChild = Slot.none
        slot.previousSibling = Slot.none
        slot.nextSibling = Slot.none
        slot.bindings = []
        if let parent {
            let oldFirst = slots[Int(parent)].firstChild
            slot.nextSibling = oldFirst
            if oldFirst != Slot.none { slots[Int(oldFirst)].previousSibling = index }
            slots[Int(parent)].firstChild = index
        }
        slots[Int(index)] = slot
        liveCount += 1
        return index
    }

    /// Whether `ancestor` is `index` or one of its ancestors.
    func isAncestor(_ ancestor: UInt32, of index: UInt32) -> Bool {
        var current = index
        while current != Slot.none {
            if current == ancestor { return true }
            current = slots[Int(current)].parent
        }
        return false
    }

    /// The nearest of `index` and its ancestors held by `holder` with `revoke`, if any.
    func revokingAncestor(of index: UInt32, heldBy holder: Principal) -> UInt32? {
        var current = index
        while current != Slot.none {
            let slot = slots[Int(current)]
            if slot.holder == holder && slot.rights.contains(.revoke) { return current }
            current = slot.parent
        }
        return nil
    }

    /// Kills `index` and everything derived from it, appending the dead slots' bindings to
    /// `broken`. Iterative: derivation chains can be arbitrarily deep. Every dead slot's
    /// generation moves on, so all handles to it go stale at once.
    mutating func revokeSubtree(_ index: UInt32, broken: inout [PageKey]) {
        // Unlink the root of the subtree from its siblings.
        let root = slots[Int(index)]
        if root.previousSibling != Slot.none {
            slots[Int(root.previousSibling)].nextSibling = root.nextSibling
        } else if root.parent != Slot.none {
            slots[Int(root.parent)].firstChild = root.nextSibling
        }
        if root.nextSibling != Slot.none {
            slots[Int(root.nextSibling)].previousSibling = root.previousSibling
        }
        stack.removeAll(keepingCapacity: true)
        stack.append(index)
        while let current = stack.popLast() {
            var child = slots[Int(current)].firstChild
            while child != Slot.none {
                stack.append(child)
                child = slots[Int(child)].nextSibling
            }
            broken.append(contentsOf: slots[Int(current)].bindings)
            slots[Int(current)] = Slot(generation: slots[Int(current)].generation &+ 1)
            freeSlots.append(current)
            liveCount -= 1
        }
    }

    /// Indices of live slots, in slot order.
    var liveIndices: [UInt32] {
        slots.indices.compactMap { slots[$0].live ? UInt32($0) : nil }
    }
}
