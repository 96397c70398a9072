import ArgumentParser
import Foundation
import H5ToLiteInterpreter
import H5ToLiteTFLite

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .tflite model on .npy inputs with the bundled float32 interpreter.",
        discussion: """
        The first axis of the input array is the batch. An array shaped like one model input \
        without its batch axis is run as a single sample.
        """)

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "Input samples (.npy; <f4, or <f8, <i4, |u1, |i1 converted to float32).")
    var input: String

    @Option(help: "Where to write the outputs (.npy, float32).")
    var output: String

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads must be at least 1")
        }
    }

    func run() throws {
        let graph = try readTFLite(path: model)
        guard graph.inputs.count == 1, graph.outputs.count == 1 else {
            throw CommandError("\(model): the model has \(graph.inputs.count) inputs and \(graph.outputs.count) outputs; run supports one of each")
        }
        let interpreter: Interpreter
        do {
            interpreter = try Interpreter(graph: graph, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        } catch {
            throw CommandError("\(model): \(error)")
        }
        var samples = try readNPY(path: input)
        if samples.shape == Array(graph[graph.inputs[0]].shape.dropFirst()) {
            samples.shape.insert(1, at: 0)
        }
        let results: [Tensor]
        do {
            results = try interpreter.run([samples])
        } catch {
            throw CommandError("\(input): \(error)")
        }
        try writeNPY(results[0], path: output)
    }
}
