import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Writes `bytes` to a temporary file beside `path`, then renames it into place, so a
/// failure never leaves a partial file and an existing file is replaced only on success.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        try Data(bytes).write(to: temporary)
        // rename(2) replaces an existing file atomically.
        guard rename(temporary.path, url.path) == 0 else {
            throw H5ToLiteError(String(cString: strerror(errno)))
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw H5ToLiteError(file: path, "cannot write (\(error.localizedDescription))")
    }
}

/// `path/name`.
func joined(_ folder: String, _ name: String) -> String {
    (folder as NSString).appendingPathComponent(name)
}

/// Renders a DOT file with Graphviz when `dot` is on the PATH; without it the .dot stays alone.
func renderSVG(dot: String, svg: String) {
    let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    guard let tool = candidates.map({ "\($0)/dot" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = ["-Tsvg", dot, "-o", svg]
    try? process.run()
    process.waitUntilExit()
}
