import CPcap
import DPFWire
import Synchronization

/// A tcpdump expression compiled by libpcap's `pcap_compile` and run with `bpf_filter`: the
/// reference DPF's own engines are checked against, and the `libpcap-bpf` benchmark engine.
public final class LibpcapFilter {
    private var program = bpf_program()

    /// libpcap's compiler keeps state in the handle but older versions share parser globals;
    /// compile one expression at a time.
    private static let compilerLock = Mutex(())

    /// Compiles `expression` as tcpdump would for a live capture of `linkType` (optimiser on,
    /// netmask 0).
    public init(_ expression: String, linkType: LinkType = .ethernet, snapshotLength: Int32 = 262_144)
        throws(CaptureError)
    {
        let dlt = DataLink.value(for: linkType)
        let failure: String? = LibpcapFilter.compilerLock.withLock { _ in
            guard let dead = pcap_open_dead(dlt, snapshotLength) else { return "pcap_open_dead failed" }
            defer { pcap_close(dead) }
            if pcap_compile(dead, &program, expression, 1, 0) != 0 {
                return String(cString: pcap_geterr(dead))
            }
            return nil
        }
        if let failure { throw CaptureError(.badExpression, "libpcap rejects '\(expression)': \(failure)") }
    }

    /// Compiles `expression` as tcpdump does when it reads `capture`: against the open file, so
    /// what libpcap decides by the file (a loopback header's byte order, the BSD AF_INET6 values a
    /// capture file may hold rather than this system's) is decided as for that file.
    public init(_ expression: String, for capture: LibpcapReader) throws(CaptureError) {
        let failure: String? = LibpcapFilter.compilerLock.withLock { _ in
            if pcap_compile(capture.handle, &program, expression, 1, 0) != 0 {
                return String(cString: pcap_geterr(capture.handle))
            }
            return nil
        }
        if let failure { throw CaptureError(.badExpression, "libpcap rejects '\(expression)': \(failure)") }
    }

    deinit { pcap_freecode(&program) }

    /// Whether libpcap's program accepts the packet's bytes (original length taken as captured).
    @inline(__always)
    public func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bpf_filter(
            program.bf_insns, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count),
            UInt32(bytes.count)) != 0
    }

    /// Whether libpcap's program accepts the packet.
    public func matches(_ packet: Packet) -> Bool {
        packet.bytes.withUnsafeBufferPointer { buffer in
            bpf_filter(
                program.bf_insns, buffer.baseAddress, UInt32(packet.originalLength), UInt32(buffer.count))
                != 0
        }
    }
}
