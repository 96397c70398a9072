import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteTFLite

/// `h5tolite run`: the .tflite file `model` on `samples`, one array per model input in the
/// model's order (batch first; one sample without its batch axis is run as a batch of one),
/// with the bundled interpreter. Returns each output with its tensor name, in the model's
/// order; outputs are dequantized unless `raw`. With `dumpValues`, every value the model
/// computes is also written to `FOLDER/<id>.npy` (samples stacked), with `FOLDER/values.tsv`
/// naming them.
public func runTFLite(model: String, inputs samples: [Tensor], threads: Int, raw: Bool = false,
                      dumpValues: String? = nil) throws -> [(name: String, values: Tensor)] {
    let graph = try readTFLite(path: model)
    guard samples.count == graph.inputs.count else {
        throw H5ToLiteError(file: model, "the model takes \(graph.inputs.count) inputs (\(quotedNames(graph.modelInputs))), "
                            + "got \(samples.count) arrays")
    }
    let interpreter: Interpreter
    do {
        interpreter = try Interpreter(graph: graph, threads: threads)
    } catch {
        throw H5ToLiteError(file: model, "\(error)")
    }
    let batches = zip(samples, graph.inputs).map { samples, id in
        var batch = samples
        if batch.shape == Array(graph[id].shape.dropFirst()) { batch.shape.insert(1, at: 0) }
        return batch
    }
    if let dumpValues {
        try writeEveryValue(interpreter, batches, to: dumpValues)
    }
    let outputs = try interpreter.run(batches, outputs: raw ? .raw : .dequantized)
    return zip(graph.outputs, outputs).map { (graph[$0].name, $1) }
}

/// `runTFLite` for a model with one input and one output.
public func runTFLite(model: String, samples: Tensor, threads: Int, raw: Bool = false, dumpValues: String? = nil) throws -> Tensor {
    let outputs = try runTFLite(model: model, inputs: [samples], threads: threads, raw: raw, dumpValues: dumpValues)
    guard outputs.count == 1 else {
        throw H5ToLiteError(file: model, "the model has \(outputs.count) outputs; expected one")
    }
    return outputs[0].values
}

/// Runs with the interpreter's observation hook and writes each observed value with its
/// samples stacked along the first axis.
private func writeEveryValue(_ interpreter: Interpreter, _ samples: [Tensor], to folder: String) throws {
    var observed: [ValueID: Tensor] = [:]
    var order: [ValueID] = []
    _ = try interpreter.run(samples) { id, tensor in
        if var known = observed[id] {
            known.data += tensor.data
            known.shape[0] += tensor.shape.first ?? 1
            observed[id] = known
        } else {
            observed[id] = tensor.shape.isEmpty ? Tensor(shape: [1], data: tensor.data) : tensor
            order.append(id)
        }
    }
    do {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
        throw H5ToLiteError(file: folder, "cannot create the folder: \(error.localizedDescription)")
    }
    var index = ""
    for id in order {
        try writeNPY(observed[id]!, path: "\(folder)/\(id).npy")
        index += "\(id)\t\(interpreter.graph[id].name)\n"
    }
    do {
        try index.write(toFile: "\(folder)/values.tsv", atomically: true, encoding: .utf8)
    } catch {
        throw H5ToLiteError(file: "\(folder)/values.tsv", "cannot write the file: \(error.localizedDescription)")
    }
}
