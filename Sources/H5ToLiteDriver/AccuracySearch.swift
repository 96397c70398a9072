import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite

/// `--max-drop`: quantize, measure the metric on the labelled data, and while it has
/// dropped by more than `maxDrop`, move back to float the layer whose fallback helps most.
/// Candidates are the layers whose int8 version alone (every other layer in float) moves
/// the output most; each is confirmed by measuring the metric with it kept in float.
/// Returns the layers to keep in float (`options.keepFloat` and those it added); `log`
/// is told each step and, at the end, what the float layers cost.
public func searchKeepFloat(imported: Graph, options: PipelineOptions, maxDrop: Double, data: LabelledData,
                            log: (String) -> Void) throws -> Set<String> {
    let metric = data.metric.rawValue
    let original = try evaluate(imported, name: "float32", on: data).metric
    let trials = try Int8Trials(imported, options: options)
    var kept = options.keepFloat
    let allInt8 = try trials.measure(keepingFloat: kept, on: data)
    var current = allInt8
    log(String(format: "max-drop: %@ %.4f as float32, %.4f in int8 (drop %.4f, allowed %.4f)",
               metric, original, current.score, original - current.score, maxDrop))
    let ranking = original - current.score > maxDrop
        ? try trials.isolatedSensitivity(float: try floatReference(imported, options: options), quantized: current.graph,
                                         samples: data.samples) : []
    // Each round measures up to four candidates on the whole data set; twenty rounds bound the time.
    for _ in 0..<20 where original - current.score > maxDrop {
        let candidates = ranking.filter { !kept.contains($0) }.prefix(4)
        log("max-drop: trying \(candidates.joined(separator: ", "))")
        var best: (layer: String, trial: MeasuredTrial)?
        for layer in candidates {
            let trial = try trials.measure(keepingFloat: kept.union([layer]), on: data)
            log(String(format: "max-drop:   %@ in float32 gives %.4f", layer, trial.score))
            if trial.score > best?.trial.score ?? current.score { best = (layer, trial) }
        }
        guard let best else {
            log("max-drop: no remaining layer helps; stopping with a drop of \(String(format: "%.4f", original - current.score))")
            break
        }
        kept.insert(best.layer)
        current = best.trial
        log(String(format: "max-drop: keeping %@ in float32: %@ %.4f (drop %.4f)", best.layer, metric, current.score,
                   original - current.score))
    }
    let added = kept.subtracting(options.keepFloat).sorted()
    log("max-drop: kept in float32: \(added.isEmpty ? "nothing" : added.joined(separator: ", ")); "
        + String(format: "final drop %.4f", original - current.score))
    if !added.isEmpty {
        let (before, after) = (allInt8.bytes, current.bytes)
        let (fast, slow) = (allInt8.millisecondsPerImage, current.millisecondsPerImage)
        log(String(format: "max-drop: cost of the float32 layers: %+d bytes (%d -> %d), interpreter %+.2f ms/image (%.2f -> %.2f)",
                   after - before, before, after, slow - fast, fast, slow))
    }
    return kept
}

/// The int8 pipeline cut after calibration: the float passes and the calibration run once,
/// and each set of layers kept in float re-runs only the quantizing stages on the graph in
/// memory (--max-drop tries dozens of sets, and calibrating is most of a pipeline's time).
private struct Int8Trials {
    let calibrated: Graph
    let options: PipelineOptions
    let quantizing: [Pass]

    init(_ imported: Graph, options: PipelineOptions) throws {
        self.options = options
        let (head, tail) = pipeline(for: options).split(after: "calibrate")
        calibrated = try runPipeline(imported, passes: head, context: PassContext(options: options))
        quantizing = tail
    }

    func quantized(keepingFloat kept: Set<String>) throws -> Graph {
        var trial = options
        trial.keepFloat = kept
        return try runPipeline(calibrated, passes: quantizing, context: PassContext(options: trial))
    }

    /// One set of float layers, quantized and run on the whole labelled data: the metric,
    /// and the file size and time per image the cost report needs.
    func measure(keepingFloat kept: Set<String>, on data: LabelledData) throws -> MeasuredTrial {
        let graph = try quantized(keepingFloat: kept)
        let result = try evaluate(graph, name: "int8", on: data, fileSize: try writeTFLite(graph).count)
        return MeasuredTrial(graph: graph, score: result.metric, bytes: result.bytes,
                             millisecondsPerImage: result.millisecondsPerImage)
    }

    /// Keras layers ordered by the output error their int8 version causes on its own, every
    /// other layer in float, worst first: the error a layer adds rather than the error it
    /// inherits, which grows towards the output and would rank the last layers first.
    func isolatedSensitivity(float: Graph, quantized: Graph, samples: [Tensor]) throws -> [String] {
        let probe = firstSamples(samples, count: 16)
        let expected = try Interpreter(graph: float).run(probe)
        var layers: [String] = []
        for op in quantized.ops where !op.kind.isConversion && !layers.contains(op.origin) {
            layers.append(op.origin)
        }
        let progress = ProgressBar(label: "max-drop: sensitivity of \(layers.count) layers")
        var errors: [String: Double] = [:]
        for (index, layer) in layers.enumerated() {
            let graph = try self.quantized(keepingFloat: options.keepFloat.union(layers).subtracting([layer]))
            let outputs = try Interpreter(graph: graph).run(probe)
            errors[layer] = zip(outputs, expected).reduce(0.0) { $0 + meanSquaredDifference($1.0, $1.1) }
            progress.update(index + 1, layers.count)
        }
        progress.finish()
        return layers.filter { errors[$0, default: 0] > 0 }.sorted { errors[$0]! > errors[$1]! }
    }
}

private struct MeasuredTrial {
    let graph: Graph
    let score: Double
    let bytes: Int
    let millisecondsPerImage: Double
}

private func meanSquaredDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.data, b.data).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(max(a.data.count, 1))
}
