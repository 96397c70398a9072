import ArgumentParser
import Foundation
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras model (.h5 or .keras) to a .tflite file.",
        discussion: """
        Reads tf.keras 2 and Keras 3 .h5 files and Keras 3 .keras archives, runs the \
        optimization passes (see `h5tolite passes`) and writes a TFLite flatbuffer.
        """)

    @Argument(help: "The Keras model: .h5 (tf.keras 2 or Keras 3) or .keras.")
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the .tflite file.")
    var output: String

    @Option(name: .customLong("dump-after"), parsing: .upToNextOption,
            help: "Write the IR after these passes (names, comma separated, or 'all').")
    var dumpAfter: [String] = []

    @Option(name: .customLong("dump-dir"), help: "Folder for --dump-after files.")
    var dumpDirectory: String = "h5tolite-dump"

    func run() throws {
        let start = Date()
        let keras = try loadKerasModel(path: model)
        let imported = try importKeras(keras)
        let dumpNames = try selectedDumps()
        if !dumpNames.isEmpty {
            try FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true)
            try writeDump(imported, name: "00-import")
        }
        let optimized: Graph
        do {
            optimized = try runPipeline(imported) { index, pass, graph in
                if dumpNames.contains(pass.name) {
                    try writeDump(graph, name: String(format: "%02d-%@", index + 1, pass.name))
                }
            }
        } catch let failure as PassFailure {
            try? FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true)
            try? writeDump(failure.lastGood, name: "failed-before-\(failure.pass)")
            throw CommandError("\(model): \(failure.description) (last good IR in \(dumpDirectory))")
        }
        let bytes = try writeTFLite(optimized)
        try writeAtomically(bytes, to: output)
        let seconds = Date().timeIntervalSince(start)
        print("\(output): \(optimized.ops.count) ops, \(optimized.parameterCount) parameters, "
              + "\(bytes.count) bytes (\(keras.format.rawValue), Keras \(keras.kerasVersion)) in \(String(format: "%.2f", seconds)) s")
    }

    private func selectedDumps() throws -> Set<String> {
        let names = Set(dumpAfter.flatMap { $0.split(separator: ",").map(String.init) })
        if names.contains("all") { return Set(passRegistry.map(\.name)) }
        for name in names where pass(named: name) == nil {
            throw ValidationError("--dump-after: no pass named '\(name)' (see `h5tolite passes`)")
        }
        return names
    }

    private func writeDump(_ graph: Graph, name: String) throws {
        let path = (dumpDirectory as NSString).appendingPathComponent("\(name).txt")
        try writeAtomically(Array(printGraph(graph).utf8), to: path)
    }
}

struct Passes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the optimization passes in pipeline order.")

    func run() {
        let width = passRegistry.map(\.name.count).max() ?? 0
        for pass in passRegistry {
            print(pass.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + pass.summary)
        }
    }
}
