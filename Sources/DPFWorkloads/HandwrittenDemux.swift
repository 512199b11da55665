import DPFTrie
import DPFWire

/// What a person would write by hand for the `ports` workload: decode Ethernet, IPv4 (first
/// fragments, variable header) or IPv6 (transport right after the fixed header), then look
/// (protocol, port) up in one open-addressing table. The baseline the generated engines are held to
/// (`dpf bench`, the Bytecode benchmarks).
///
/// The offsets are literals on purpose (12 the EtherType, 14 the network header, 20 IPv4's flags
/// and fragment offset, 23 its protocol, 34 and 54 the end of the IPv4 and IPv6 headers): this is
/// the code a person writes by hand, not derived from `FieldTable` as the product is. Its tests pin
/// it to the reference evaluator on the workload's filters.
public struct HandwrittenDemux: Sendable {
    @usableFromInline var table = OpenAddressingTable()

    public init(_ workload: PortsWorkload) {
        for (index, app) in workload.apps.enumerated() {
            table.set(Int32(index), for: HandwrittenDemux.key(isTCP: app.isTCP, port: app.port))
        }
    }

    @inlinable @inline(__always)
    static func key(isTCP: Bool, port: UInt16) -> UInt32 { UInt32(isTCP ? 6 : 17) << 16 | UInt32(port) }

    /// The owning app's index, or -1. Inlinable, so the benchmarks inline it as they would their own code.
    @inlinable @inline(__always)
    public func owner(_ packet: UnsafeRawBufferPointer) -> Int32 {
        let count = packet.count
        guard count >= 14 else { return -1 }
        let etherType = UInt16(packet[12]) << 8 | UInt16(packet[13])
        let transport: Int
        let proto: UInt8
        if etherType == EtherType.ipv4 {
            guard count >= 34 else { return -1 }
            guard (UInt16(packet[20]) << 8 | UInt16(packet[21])) & 0x1FFF == 0 else { return -1 }
            proto = packet[23]
            transport = 14 + 4 * Int(packet[14] & 0x0F)
        } else if etherType == EtherType.ipv6 {
            guard count >= 54 else { return -1 }
            proto = packet[20]
            transport = 54
        } else {
            return -1
        }
        guard proto == IPProtocol.tcp || proto == IPProtocol.udp, transport + 4 <= count else { return -1 }
        let port = UInt16(packet[transport + 2]) << 8 | UInt16(packet[transport + 3])
        return table.value(for: HandwrittenDemux.key(isTCP: proto == IPProtocol.tcp, port: port)) ?? -1
    }
}
