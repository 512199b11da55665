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
