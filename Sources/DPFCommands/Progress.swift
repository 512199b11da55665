/// One status line on stderr that a long-running command rewrites in place ("bench: trie 10
/// filters (2/25)"), shown only when stderr is a terminal, so pipes and logs never see it.
/// `clear()` wipes it; call it before anything else is printed to stderr, and at the end.
final class ProgressLine {
    private let console: Console
    private let clock = ContinuousClock()
    let isShown: Bool
    private var lastUpdate: ContinuousClock.Instant
    private var width = 0

    init(console: Console = .current) {
        self.console = console
        isShown = console.standardErrorIsTerminal
        lastUpdate = clock.now
    }

    /// Replaces the line with `text`.
    func show(_ text: @autoclosure () -> String) {
        guard isShown else { return }
        let text = text()
        // Spaces cover what is left of a longer previous line.
        console.err("\r" + text + String(repeating: " ", count: max(0, width - text.count)), terminator: "")
        width = text.count
        lastUpdate = clock.now
    }

    /// Replaces the line with `text` if the console's progress interval has passed since the last
    /// update. Cheap enough to call every few thousand packets.
    func showPeriodically(_ text: @autoclosure () -> String) {
        guard isShown, lastUpdate.duration(to: clock.now) >= console.progressInterval else { return }
        show(text())
    }

    /// Wipes the line and puts the cursor back at its start.
    func clear() {
        guard isShown, width > 0 else { return }
        console.err("\r" + String(repeating: " ", count: width) + "\r", terminator: "")
        width = 0
    }
}

/// The text of a long run's progress line: a bar and percentage when the input's size is known
/// (a file), the packets so far and their rate.
///
///     replay [#########...........]  45%  1,234,567 packets  2.1 M packets/s
public struct RunProgress: Sendable {
    /// Cells in the bar.
    static let barWidth = 20

    public let label: String

    public init(label: String) { self.label = label }

    public func text(packets: Int, bytesRead: Int, totalBytes: Int?, elapsed: Duration) -> String {
        var parts = [label]
        if let totalBytes, totalBytes > 0 {
            let fraction = min(1, max(0, Double(bytesRead) / Double(totalBytes)))
            let filled = Int(fraction * Double(RunProgress.barWidth))
            parts.append(
                "[" + String(repeating: "#", count: filled)
                    + String(repeating: ".", count: RunProgress.barWidth - filled) + "]")
            let percent = String(Int(fraction * 100))
            parts.append(String(repeating: " ", count: 3 - percent.count) + percent + "%")
        }
        parts.append("\(packets.grouped) packets")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if seconds > 0 { parts.append(RunProgress.rate(Double(packets) / seconds) + " packets/s") }
        return parts.joined(separator: "  ")
    }

    /// A rate with one decimal and a k/M/G suffix ("2.1 M"), or the whole number below 1,000.
    public static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite, perSecond >= 1_000 else {
            return String(Int(perSecond.isFinite ? max(0, perSecond) : 0))
        }
        for (scale, suffix) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where perSecond >= scale {
            let tenths = Int((perSecond / scale * 10).rounded())
            return "\(tenths / 10).\(tenths % 10) \(suffix)"
        }
        return String(Int(perSecond))
    }
}
