import Foundation
import H5ToLiteCore
import H5ToLiteKeras

/// Reads a Keras file in a child process, which hands over what it read (config and
/// weights) through a temporary file, so that h5tolite itself never calls libhdf5. Debian's
/// libhdf5 crashes on some damaged files (a segfault on 1 of 200 mutated .h5 files),
/// overruns its buffers on others (found by fuzzing under AddressSanitizer; without it the
/// read goes on with garbage) and loops without end on one: each must end as a one-line
/// error naming the file, never as a dead or corrupted h5tolite. Hence also the deadline.
/// `reader` is the h5tolite executable, whose hidden `read-keras` subcommand
/// (`readKerasForParent`) is the child.
public func loadKerasFileIsolated(_ path: String, reader: String = "/proc/self/exe") throws -> KerasModel {
    let stem = FileManager.default.temporaryDirectory
        .appendingPathComponent("h5tolite-\(getpid())-\(UUID().uuidString)").path
    let (transfer, errors) = (stem + ".model", stem + ".errors")
    defer {
        unlink(transfer)
        unlink(errors)
    }
    guard let pid = spawn([reader, "read-keras", "--", path, transfer], errors: errors) else {
        return try loadKerasModel(path: path)  // No child process available: read in-process.
    }
    let limit = readDeadline(path)
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    let status = waitForExit(pid)
    watchdog.cancel()
    let signal = status & 0x7F
    switch (signal, (status >> 8) & 0xFF) {
    case (SIGKILL, _):
        throw H5ToLiteError(file: path, "libhdf5 did not finish reading the file within \(Int(limit)) s; the file is damaged")
    case (0, 0):
        guard let bytes = FileManager.default.contents(atPath: transfer) else {
            throw H5ToLiteError(file: path, "the reading process wrote no model")
        }
        return try decodeKerasModel(Array(bytes), file: path)
    case (0, _):
        let message = String(decoding: FileManager.default.contents(atPath: errors) ?? Data(), as: UTF8.self)
        let line = message.split(separator: "\n").last.map(String.init) ?? "cannot be read"
        throw H5ToLiteError(line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line)
    default:
        throw H5ToLiteError(file: path, "reading the file crashed libhdf5 (signal \(signal)); the file is damaged")
    }
}

/// Starts `arguments` with stdout discarded and stderr in the file `errors`. posix_spawn
/// rather than Foundation's Process, whose wait polls every 50 ms (a third of converting
/// a small model).
private func spawn(_ arguments: [String], errors: String) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    return posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 ? pid : nil
}

/// The child's wait status (signal in the low 7 bits, exit code in the next 8).
private func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return status
}

/// Reading a sound file costs well under a second per 100 MB here; 30 s plus 30 s per GB
/// leaves room for slow disks and machines.
func readDeadline(_ path: String) -> Double {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    return 30 + 30 * Double(size) / 1e9
}

/// The child side of `loadKerasFileIsolated`: reads `file` and writes what it read to `transfer`.
public func readKerasForParent(file: String, transfer: String) throws {
    // The parent kills this process at the deadline; if the parent itself is killed first,
    // the alarm still ends a libhdf5 that never returns.
    alarm(UInt32(readDeadline(file)) + 5)
    let bytes = encodeKerasModel(try loadKerasModel(path: file))
    guard FileManager.default.createFile(atPath: transfer, contents: nil),
          let handle = FileHandle(forWritingAtPath: transfer) else {
        throw H5ToLiteError(file: transfer, "cannot write the model for h5tolite")
    }
    try handle.write(contentsOf: bytes)
    try handle.close()
}
