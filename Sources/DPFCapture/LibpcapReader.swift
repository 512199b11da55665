import CPcap
import DPFWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads pcap and pcapng files through libpcap, one record at a time.
public final class LibpcapReader {
    let handle: OpaquePointer
    public let path: String
    /// The file's link-layer header type (a DLT_ value as libpcap reports it).
    public let dataLinkType: Int32
    /// The DPF link type, if DPF demultiplexes this one.
    public let linkType: LinkType?
    /// Records returned so far.
    public private(set) var recordsRead = 0

    public init(path: String) throws(CaptureError) {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline(path, &errorBuffer) else {
            let code = errno
            let reason = LibpcapReader.openFailure(path, errorBuffer)
            // libpcap words a refused open as "PATH: strerror"; then errno is the system's reason.
            let refusedBySystem = reason == "\(path): \(String(cString: strerror(code)))"
            throw CaptureError(.unreadable, reason, systemError: refusedBySystem ? code : nil)
        }
        self.handle = handle
        self.path = path
        dataLinkType = pcap_datalink(handle)
        linkType = DataLink.linkType(for: dataLinkType)
    }

    deinit { pcap_close(handle) }

    /// libpcap's reason for refusing to open `path`, naming the path once: libpcap's message
    /// already starts with the path when the system refused the open ("x.pcap: No such file or
    /// directory"), but not when the file's contents are wrong ("unknown file format").
    static func openFailure(_ path: String, _ errorBuffer: [CChar]) -> String {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let reason = String(decoding: bytes, as: UTF8.self)
        if reason.isEmpty { return "\(path): cannot open the capture" }
        return reason.hasPrefix(path + ": ") ? reason : "\(path): \(reason)"
    }

    /// The next record's bytes and original length, or `nil` at the end of the file.
    /// A truncated or corrupt record throws, naming the record.
    public func nextRecord() throws(CaptureError) -> (bytes: [UInt8], originalLength: Int)? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return nil }
            recordsRead += 1
            let captured = Int(header.pointee.caplen)
            return (Array(UnsafeBufferPointer(start: data, count: captured)), Int(header.pointee.len))
        case PCAP_ERROR_BREAK:
            return nil
        default:
            let reason = String(cString: pcap_geterr(handle))
            throw CaptureError(
                .malformed,
                "\(path): record \(recordsRead + 1): \(reason) (after \(recordsRead) good records)",
                brokenRecord: (recordsRead + 1, reason))
        }
    }

    /// Shows the next record to `body` without copying it: its captured bytes (valid only during
    /// the call), its original length and its timestamp in nanoseconds. False at the end of the
    /// file; a truncated or corrupt record throws, naming the record.
    public func withNextRecord(
        _ body: (_ bytes: UnsafeRawBufferPointer, _ originalLength: Int, _ timestamp: UInt64) -> Void
    ) throws(CaptureError) -> Bool {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return false }
            recordsRead += 1
            let time = header.pointee.ts
            let timestamp =
                UInt64(clamping: Int64(time.tv_sec)) &* 1_000_000_000
                &+ UInt64(clamping: Int64(time.tv_usec)) &* 1_000
            body(
                UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)),
                Int(header.pointee.len),
                timestamp)
            return true
        case PCAP_ERROR_BREAK:
            return false
        default:
            let reason = String(cString: pcap_geterr(handle))
            throw CaptureError(
                .malformed,
                "\(path): record \(recordsRead + 1): \(reason) (after \(recordsRead) good records)",
                brokenRecord: (recordsRead + 1, reason))
        }
    }

    /// The next packet, for link types DPF supports.
    public func nextPacket() throws(CaptureError) -> Packet? {
        guard let linkType else {
            throw CaptureError(
                .unsupportedLinkType,
                "\(path): link type \(DataLink.describe(dataLinkType: dataLinkType)) is not one DPF demultiplexes"
            )
        }
        return try nextRecord().map {
            Packet(bytes: $0.bytes, originalLength: $0.originalLength, linkType: linkType)
        }
    }

    /// Every packet in the file.
    public func readAll() throws(CaptureError) -> [Packet] {
        var packets: [Packet] = []
        while let packet = try nextPacket() { packets.append(packet) }
        return packets
    }
}
