import ArgumentParser
import Foundation
import H5ToLiteDriver
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteTFLite

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .tflite model on .npy inputs with the bundled interpreter.",
        discussion: """
        The first axis of the input array is the batch. An array shaped like one model input \
        without its batch axis is run as a single sample.

        Quantized models run too: float16 weights, dynamic-range (hybrid) and full int8 files, \
        with TFLite's integer arithmetic. Inputs are always real numbers: where the model takes \
        int8 or uint8 input, each value x is quantized as TFLite's QUANTIZE does, \
        round(x / scale) + zero_point (halves away from zero), clamped to the type. \
        Outputs are written as float32, int8 and uint8 outputs dequantized, \
        scale * (q - zero_point), unless --raw-output is given.
        """)

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "Input samples (.npy; <f4, or <f8, <i4, |u1, |i1 converted to float32).")
    var input: String

    @Option(help: "Where to write the outputs (.npy, float32).")
    var output: String

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Flag(help: "Write int8 and uint8 outputs as their stored integers (still a float32 array) instead of dequantized.")
    var rawOutput = false

    @Option(help: "Also write every value the model computes, as float32 (8-bit values dequantized), to DIR/<index>.npy, with DIR/values.tsv naming them.")
    var dumpValues: String?

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
            if let dumpValues {
                results = try runDumping(interpreter, samples, to: dumpValues)
            } else {
                results = try interpreter.run([samples], outputs: rawOutput ? .raw : .dequantized)
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw CommandError("\(input): \(error)")
        }
        try writeNPY(results[0], path: output)
    }

    /// Runs with the interpreter's observation hook, then writes each observed
    /// value with its samples stacked along the first axis.
    private func runDumping(_ interpreter: Interpreter, _ samples: Tensor, to folder: String) throws -> [Tensor] {
        var observed: [ValueID: Tensor] = [:]
        var order: [ValueID] = []
        let results = try interpreter.run([samples]) { id, tensor in
            if var known = observed[id] {
                known.data += tensor.data
                known.shape[0] += tensor.shape.first ?? 1
                observed[id] = known
            } else {
                observed[id] = tensor.shape.isEmpty ? Tensor(shape: [1], data: tensor.data) : tensor
                order.append(id)
            }
        }
        if rawOutput {
            return try interpreter.run([samples], outputs: .raw)
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw CommandError("\(folder): cannot create the folder: \(error.localizedDescription)")
        }
        var index = ""
        for id in order {
            try writeNPY(observed[id]!, path: "\(folder)/\(id).npy")
            index += "\(id)\t\(interpreter.graph[id].name)\n"
        }
        do {
            try index.write(toFile: "\(folder)/values.tsv", atomically: true, encoding: .utf8)
        } catch {
            throw CommandError("\(folder)/values.tsv: cannot write the file: \(error.localizedDescription)")
        }
        return results
    }
}
