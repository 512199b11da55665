import DPFCapture
import Foundation
import Testing

/// Issue 9: libpcap's open errors already name the file; ours must not name it twice.
@Suite struct ReaderErrorTests {
    @Test func aMissingCaptureIsNamedOnce() {
        let path = NSTemporaryDirectory() + "dpf-missing-\(UUID().uuidString).pcap"
        do {
            _ = try LibpcapReader(path: path)
            Issue.record("opened a missing file")
        } catch {
            #expect(error.message == "\(path): No such file or directory")
        }
    }

    @Test func aFileThatIsNoCaptureIsNamedOnce() throws {
        let path = NSTemporaryDirectory() + "dpf-text-\(UUID().uuidString).pcap"
        try "not a capture at all\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try LibpcapReader(path: path)
            Issue.record("libpcap opened a text file")
        } catch {
            #expect(error.message.hasPrefix("\(path): "))
            #expect(error.message.components(separatedBy: path).count == 2, "\(error.message)")
        }
    }
}
