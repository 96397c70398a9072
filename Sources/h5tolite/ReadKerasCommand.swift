import ArgumentParser
import Foundation
import H5ToLiteKeras

/// Reads a Keras file in a child process, which hands over what it read (config and
/// weights) through a temporary file, so that h5tolite itself never calls libhdf5. Debian's
/// libhdf5 crashes on some damaged files (a segfault on 1 of 200 mutated .h5 files),
/// overruns its buffers on others (found by fuzzing under AddressSanitizer; without it the
/// read goes on with garbage) and loops without end on one: each must end as a one-line
/// error naming the file, never as a dead or corrupted h5tolite. Hence also the deadline.
func loadKerasFileIsolated(_ path: String) throws -> KerasModel {
    let transfer = FileManager.default.temporaryDirectory
        .appendingPathComponent("h5tolite-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).model").path
    defer { try? FileManager.default.removeItem(atPath: transfer) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["read-keras", path, transfer]
    process.standardOutput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    do {
        try process.run()
    } catch {
        return try loadKerasModel(path: path)  // No child process available: read in-process.
    }
    let limit = readDeadline(path)
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
        guard let bytes = FileManager.default.contents(atPath: transfer) else {
            throw CommandError("\(path): the reading process wrote no model")
        }
        return try decodeKerasModel(Array(bytes), file: path)
    }
}

/// Reading a sound file costs well under a second per 100 MB here; 30 s plus 30 s per GB
/// leaves room for slow disks and machines.
func readDeadline(_ path: String) -> Double {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return 30 + 30 * Double(size ?? 0) / 1e9
}

/// The child side of `loadKerasFileIsolated`.
struct ReadKeras: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read-keras", shouldDisplay: false)

    @Argument var file: String
    @Argument var transfer: String

    func run() throws {
        // The parent kills this process at the deadline; if the parent itself is killed first,
        // the alarm still ends a libhdf5 that never returns.
        alarm(UInt32(readDeadline(file)) + 5)
        try Data(encodeKerasModel(try loadKerasModel(path: file))).write(to: URL(fileURLWithPath: transfer))
    }
}
