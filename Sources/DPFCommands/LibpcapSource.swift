import DPFCapture
import DPFMux
import DPFWire

/// A capture file read through libpcap as a multiplexer's packet source: each record is copied
/// once, into the batch's own storage (libpcap reuses its buffer for the next record).
final class LibpcapSource: PacketSource {
    let reader: LibpcapReader
    let linkType: LinkType
    /// The failure that stopped reading, if any (`nextBatch` reports it as a `PacketSourceError`).
    private(set) var failure: CaptureError?

    /// Called every `progressInterval` batches with the records read so far.
    private let progress: (Int) -> Void
    private var batches = 0
    static let progressInterval = 4

    init(_ reader: LibpcapReader, linkType: LinkType, progress: @escaping (Int) -> Void = { _ in }) {
        self.reader = reader
        self.linkType = linkType
        self.progress = progress
    }

    func nextBatch(into batch: SourceBatch) throws(PacketSourceError) -> Bool {
        batch.removeAll()
        do {
            while !batch.isFull {
                let more = try reader.withNextRecord { bytes, originalLength, timestamp in
                    batch.appendCopy(bytes, wireLength: originalLength, timestamp: timestamp)
                }
                if !more { break }
            }
        } catch {
            failure = error
            throw PacketSourceError(recordsRead: reader.recordsRead, message: error.message)
        }
        batches += 1
        if batches % LibpcapSource.progressInterval == 0 { progress(reader.recordsRead) }
        return batch.count > 0
    }
}
