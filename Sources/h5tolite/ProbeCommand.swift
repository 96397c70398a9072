import ArgumentParser
import Foundation
import H5ToLiteKeras

/// Reads a Keras file in a child process first: Debian's libhdf5 can crash on damaged
/// files (a segfault seen on 1 of 200 mutated .h5 files), and a crash there must end as a
/// one-line error naming the file, not as a dead h5tolite.
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
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    switch process.terminationReason {
    case .uncaughtSignal:
        throw CommandError("\(path): reading the file crashed libhdf5 (signal \(process.terminationStatus)); the file is damaged")
    case .exit where process.terminationStatus != 0:
        let line = message.split(separator: "\n").last.map(String.init) ?? "cannot be read"
        throw CommandError(line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line)
    default:
        return
    }
}

/// The child side of `probeKerasFile`.
struct ProbeKeras: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe-keras", shouldDisplay: false)

    @Argument var file: String

    func run() throws {
        _ = try loadKerasModel(path: file)
    }
}
