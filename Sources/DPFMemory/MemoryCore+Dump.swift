extension MemoryCore {
    /// The core's state as stable text: frames by owner, shares, bindings, TLBs, queued writes,
    /// pending revocations, repossession vectors and live capabilities, in a fixed order (for
    /// debugging and golden tests). Handles' random tags are never printed.
    public func dump() -> String {
        state.withLock { state in
            var lines: [String] = []
            let frameCount = state.frames.count
            lines.append(
                "memory core: \(frameCount) frames of \(FrameArena.frameSize) bytes, \(state.frames.freeCount) free, "
                    + "epoch \(machine.epochs.epoch)")
            let apps = state.apps.indices.compactMap { state.apps[$0] == nil ? nil : AppID(UInt32($0)) }

            lines.append("frames:")
            lines.append("  kernel: \(ranges(state.frames.frames(ownedBy: .kernel)))")
            for app in apps {
                let record = state.apps[Int(app.index)]!
                lines.append(
                    "  \(app) (guaranteed \(record.guaranteedFrames)): \(ranges(state.frames.frames(ownedBy: .app(app))))"
                )
            }
            let free = (0..<UInt32(frameCount)).filter { state.frames.isFree($0) }
            lines.append("  free: \(ranges(free))")

            lines.append("shared read-only:")
            for frame in 0..<UInt32(frameCount) {
                guard let owner = state.frames[frame].owner else { continue }
                var readers = Set<Principal>()
                for index in state.capabilities.liveIndices {
                    let slot = state.capabilities[index]
                    if slot.holder != owner && slot.resource.covers(frame: frame) {
                        readers.insert(slot.holder)
                    }
                }
                if !readers.isEmpty {
                    lines.append(
                        "  frame \(frame) (\(owner)): \(readers.sorted().map(\.description).joined(separator: ", "))"
                    )
                }
            }

            lines.append("bindings:")
            for app in apps {
                let mappings = machine.pageTables.view(of: app).mappings
                guard !mappings.isEmpty else { continue }
                let text = mappings.map { "\($0.page)->\($0.frame) \($0.rights)" }
                lines.append("  \(app): \(text.joined(separator: ", "))")
            }

            lines.append("tlb:")
            for app in apps {
                let statistics = machine.tlbs.statistics(of: app)
                let entries = machine.tlbs.validEntries(of: app, arena: arena).map {
                    "\($0.page)->\($0.frame)"
                }
                lines.append(
                    "  \(app): \(statistics.hits) hits, \(statistics.misses) misses, entries [\(entries.joined(separator: ", "))]"
                )
            }

            lines.append("queued writes:")
            for frame in 0..<UInt32(frameCount) where !state.frames[frame].queued.isEmpty {
                lines.append("  frame \(frame): \(state.frames[frame].queued.count)")
            }
            for app in apps where state.apps[Int(app.index)]!.cancelledWrites > 0 {
                lines.append("  \(app): \(state.apps[Int(app.index)]!.cancelledWrites) cancelled")
            }

            lines.append("pending revocations:")
            for app in apps {
                guard let request = state.apps[Int(app.index)]!.pending else { continue }
                lines.append(
                    "  \(app): \(request.remaining) of \(request.count) frames by t=\(request.deadline)")
            }

            lines.append("repossessed:")
            for app in apps {
                let vector = state.apps[Int(app.index)]!.repossessed
                guard !vector.isEmpty else { continue }
                let text = vector.map { record in
                    "frame \(record.frame) at t=\(record.time)"
                        + (record.pages.isEmpty
                            ? "" : " (pages \(record.pages.map(String.init).joined(separator: " ")))")
                }
                lines.append("  \(app): \(text.joined(separator: ", "))")
            }

            lines.append("capabilities: \(state.capabilities.liveCount) live")
            for index in state.capabilities.liveIndices {
                let slot = state.capabilities[index]
                let parent = slot.parent == CapabilityTable.Slot.none ? "root" : "from #\(slot.parent)"
                lines.append("  #\(index) \(slot.resource) \(slot.rights) held by \(slot.holder), \(parent)")
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}

/// `0-3 7 9-10`, or `-` for none.
private func ranges(_ frames: [UInt32]) -> String {
    guard var start = frames.first else { return "-" }
    var parts: [String] = []
    var end = start
    for frame in frames.dropFirst() {
        if frame == end + 1 {
            end = frame
            continue
        }
        parts.append(start == end ? "\(start)" : "\(start)-\(end)")
        start = frame
        end = frame
    }
    parts.append(start == end ? "\(start)" : "\(start)-\(end)")
    return parts.joined(separator: " ")
}
