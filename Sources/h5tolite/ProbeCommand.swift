import ArgumentParser
import Foundation
import H5ToLiteKeras

/// Reads a Keras file in a child process first: Debian's libhdf5 can crash on damaged
/// files (a segfault seen on 1 of 200 mutated .h5 files), and a crash there must end as a
/// one-line error naming the file, not as a dead h5tolite. It can also loop without end (a
/// fuzzed vlen string attribute did), so the child has a deadline.
func probeKerasFile(_ path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["probe-keras", path]
    process.standardOutput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    do {
        try process.run()
    } catch {
        return  // No child process available: read in-process, as before.
    }
    let limit = probeDeadline(path)
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    watchdog.cancel()
    switch process.terminationReason {
    case .uncaughtSignal where process.terminationStatus == SIGKILL:
        throw CommandError("\(path): libhdf5 did not finish reading the file within \(Int(limit)) s; the file is damaged")
    case .uncaughtSignal:
        throw CommandError("\(path): reading the file crashed libhdf5 (signal \(process.terminationStatus)); the file is damaged")
    case .exit where process.terminationStatus != 0:
        let line = message.split(separator: "\n").last.map(String.init) ?? "cannot be read"
        throw CommandError(line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line)
    default:
        return
    }
}

/// Reading a sound file costs well under a second per 100 MB here; 30 s plus 30 s per GB
/// leaves room for slow disks and machines.
private func probeDeadline(_ path: String) -> Double {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return 30 + 30 * Double(size ?? 0) / 1e9
}

/// The child side of `probeKerasFile`.
struct ProbeKeras: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe-keras", shouldDisplay: false)

    @Argument var file: String

    func run() throws {
        _ = try loadKerasModel(path: file)
    }
}
