import Foundation

/// A one-line progress bar on stderr, redrawn in place, such as
/// `calibrating [#####.....] 16/32`. It writes nothing when stderr is not a terminal,
/// so logs and pipes stay clean.
public struct ProgressBar: Sendable {
    public let label: String
    public let width: Int
    let enabled: Bool

    public init(label: String, width: Int = 30) {
        self.init(label: label, width: width, enabled: isatty(STDERR_FILENO) != 0)
    }

    init(label: String, width: Int, enabled: Bool) {
        self.label = label
        self.width = width
        self.enabled = enabled
    }

    /// Redraws the bar at `done` of `total`; fits `loadImageBatch`'s `progress`.
    public func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + line(done, total)).utf8))
    }

    /// Ends the bar's line so that later output starts on a fresh one.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    func line(_ done: Int, _ total: Int) -> String {
        let clamped = min(max(done, 0), max(total, 0))
        let filled = total > 0 ? clamped * width / total : width
        return "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(clamped)/\(total)"
    }
}
