import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses

/// How far one layer's output in a quantized graph is from the same layer in the float
/// graph, over the samples: the per-layer table `--verify` prints for quantized models.
public struct LayerError {
    public let name: String
    public let meanAbsoluteError: Double
    public let maxAbsoluteError: Double
    /// Root-mean-square error in units of the layer's own quantization step (1 = one step).
    public let rmseInSteps: Double
}

/// The graph the same passes make without quantization: what a quantized graph's layers
/// are measured against.
public func floatReference(_ imported: Graph, options: PipelineOptions) throws -> Graph {
    var floatOptions = options
    floatOptions.quantization = .none
    return try runPipeline(imported, context: PassContext(options: floatOptions))
}

/// A quantized value's name without the `/int8` the int8 pass gives a model output's
/// integer side: the name its float counterpart carries.
func layerValueName(_ name: String) -> String {
    name.hasSuffix("/int8") ? String(name.dropLast(5)) : name
}

/// Runs both graphs on `samples` (one tensor per model input) and compares every value the
/// two graphs share a name for, on the way to every output. Values are matched by name:
/// quantized values keep their float counterparts' names.
public func layerErrors(float: Graph, quantized: Graph, samples: [Tensor]) throws -> [LayerError] {
    var reference: [String: [Tensor]] = [:]
    _ = try Interpreter(graph: float).run(samples) { id, tensor in
        reference[float[id].name, default: []].append(tensor)
    }
    // Counted per value, not per name: an output's integer side (`box/int8`) and its
    // dequantized float side (`box`) share a name and are each seen once per batch.
    var seen: [ValueID: Int] = [:]
    var sums: [String: (abs: Double, max: Double, squares: Double, count: Int)] = [:]
    _ = try Interpreter(graph: quantized).run(samples) { id, tensor in
        let name = layerValueName(quantized[id].name)
        let index = seen[id, default: 0]
        seen[id] = index + 1
        guard let expected = reference[name], index < expected.count, expected[index].data.count == tensor.data.count else { return }
        var entry = sums[name] ?? (0, 0, 0, 0)
        for (a, b) in zip(expected[index].data, tensor.data) {
            let difference = Double(abs(a - b))
            entry.abs += difference
            entry.max = max(entry.max, difference)
            entry.squares += difference * difference
        }
        entry.count += tensor.data.count
        sums[name] = entry
    }
    let steps = Dictionary(quantized.values.compactMap { value in
        value.quantization.map { (layerValueName(value.name), Double($0.scales[0])) }
    }, uniquingKeysWith: { first, _ in first })
    return sums.compactMap { name, entry in
        guard entry.count > 0, quantized.inputs.allSatisfy({ quantized[$0].name != name }) else { return nil }
        let rmse = (entry.squares / Double(entry.count)).squareRoot()
        return LayerError(name: name, meanAbsoluteError: entry.abs / Double(entry.count), maxAbsoluteError: entry.max,
                          rmseInSteps: steps[name].map { rmse / $0 } ?? .nan)
    }.sorted { $0.rmseInSteps.isNaN ? false : $1.rmseInSteps.isNaN ? true : $0.rmseInSteps > $1.rmseInSteps }
}

public func layerErrorTable(_ errors: [LayerError], limit: Int = 10) -> String {
    var lines = ["| layer | mean abs error | max abs error | RMSE (steps) |", "|---|---|---|---|"]
    for error in errors.prefix(limit) {
        lines.append("| \(error.name) | \(String(format: "%.4g", error.meanAbsoluteError)) | "
                     + "\(String(format: "%.4g", error.maxAbsoluteError)) | \(String(format: "%.2f", error.rmseInSteps)) |")
    }
    return lines.joined(separator: "\n") + "\n"
}
