import DPFBytecode

/// Stores identical dispatch tables once. With filters numbered rather than accept records per
/// path, the port tables under IPv4 and IPv6 hold the same entries (port → filter), so the
/// dispatches of both share one table.
enum TableSharing {
    static func apply(to program: inout Program) {
        var shared: [DispatchTable] = []
        var index: [DispatchTable: UInt32] = [:]
        var renumbered: [UInt32] = []
        for table in program.tables {
            if let existing = index[table] {
                renumbered.append(existing)
            } else {
                index[table] = UInt32(shared.count)
                renumbered.append(UInt32(shared.count))
                shared.append(table)
            }
        }
        for position in program.instructions.indices where program.instructions[position].opcode == .dispatch
        {
            program.instructions[position].value = renumbered[Int(program.instructions[position].value)]
        }
        program.tables = shared
    }
}
