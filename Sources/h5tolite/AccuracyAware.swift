import Foundation
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite

extension Convert {
    /// `--max-drop`: quantize, measure the metric on the labelled data, and while it has
    /// dropped by more than `maxDrop`, move back to float the layer whose fallback helps most.
    /// Candidates are the layers whose int8 version alone (every other layer in float) moves
    /// the output most; each is confirmed by measuring the metric with it kept in float.
    func accuracyAwareKeepFloat(imported: Graph, options: PipelineOptions, maxDrop: Double) throws -> Set<String> {
        let table = try loadLabelTable(labels!)
        let inputShape = Array(imported[imported.inputs[0]].shape.dropFirst())
        let samples = try loadSamples(data!, inputShape: inputShape, preprocessing: preprocess,
                                      names: table.images.isEmpty ? nil : table.images, label: "evaluation images")
        let chosen = resolvedMetric(metric, table)
        let original = try evaluateVariant(name: "float32", graph: imported, bytes: nil, fileSize: 0, samples: samples,
                                           labels: table, metric: chosen, reference: nil)
        let trials = try Int8Trials(imported, options: options)
        var kept = options.keepFloat
        let allInt8 = try measuredTrial(trials, kept, samples, table, chosen)
        var current = allInt8
        print(String(format: "max-drop: %@ %.4f as float32, %.4f in int8 (drop %.4f, allowed %.4f)",
                     chosen.rawValue, original.metric, current.score, original.metric - current.score, maxDrop))
        let ranking = original.metric - current.score > maxDrop
            ? try isolatedSensitivity(trials, float: try floatReference(imported, options: options), quantized: current.graph,
                                      samples: samples) : []
        // Each round measures up to four candidates on the whole data set; twenty rounds bound the time.
        for _ in 0..<20 where original.metric - current.score > maxDrop {
            let candidates = ranking.filter { !kept.contains($0) }.prefix(4)
            print("max-drop: trying \(candidates.joined(separator: ", "))")
            var best: (layer: String, trial: MeasuredTrial)?
            for layer in candidates {
                let trial = try measuredTrial(trials, kept.union([layer]), samples, table, chosen)
                print(String(format: "max-drop:   %@ in float32 gives %.4f", layer, trial.score))
                if trial.score > best?.trial.score ?? current.score { best = (layer, trial) }
            }
            guard let best else {
                print("max-drop: no remaining layer helps; stopping with a drop of \(String(format: "%.4f", original.metric - current.score))")
                break
            }
            kept.insert(best.layer)
            current = best.trial
            print(String(format: "max-drop: keeping %@ in float32: %@ %.4f (drop %.4f)", best.layer, chosen.rawValue, current.score,
                         original.metric - current.score))
        }
        let added = kept.subtracting(options.keepFloat).sorted()
        print("max-drop: kept in float32: \(added.isEmpty ? "nothing" : added.joined(separator: ", ")); "
              + String(format: "final drop %.4f", original.metric - current.score))
        if !added.isEmpty {
            let (before, after) = (allInt8.bytes, current.bytes)
            let (fast, slow) = (allInt8.millisecondsPerImage, current.millisecondsPerImage)
            print(String(format: "max-drop: cost of the float32 layers: %+d bytes (%d -> %d), interpreter %+.2f ms/image (%.2f -> %.2f)",
                         after - before, before, after, slow - fast, fast, slow))
        }
        return kept
    }

    /// One set of float layers, quantized, written and run on the whole labelled data: the
    /// metric, and the file size and time per image its cost report needs.
    private func measuredTrial(_ trials: Int8Trials, _ kept: Set<String>, _ samples: Tensor,
                               _ table: LabelTable, _ metric: MetricChoice) throws -> MeasuredTrial {
        let graph = try trials.quantized(keepingFloat: kept)
        let bytes = try writeTFLite(graph)
        let result = try evaluateVariant(name: "int8", graph: try readTFLite(bytes: bytes, name: "int8"),
                                         bytes: nil, fileSize: 0, samples: samples, labels: table, metric: metric, reference: nil)
        return MeasuredTrial(graph: graph, score: result.metric, bytes: bytes.count,
                             millisecondsPerImage: result.millisecondsPerImage)
    }

    /// Keras layers ordered by the output error their int8 version causes on its own, every
    /// other layer in float, worst first: the error a layer adds rather than the error it
    /// inherits, which grows towards the output and would rank the last layers first.
    private func isolatedSensitivity(_ trials: Int8Trials, float: Graph, quantized: Graph,
                                     samples: Tensor) throws -> [String] {
        let probe = firstSamples(samples, count: 16)
        let expected = try Interpreter(graph: float).run([probe])
        var layers: [String] = []
        for op in quantized.ops where !op.kind.isConversion && !layers.contains(op.origin) {
            layers.append(op.origin)
        }
        let progress = ProgressBar(label: "max-drop: sensitivity of \(layers.count) layers")
        var errors: [String: Double] = [:]
        for (index, layer) in layers.enumerated() {
            let graph = try trials.quantized(keepingFloat: trials.options.keepFloat.union(layers).subtracting([layer]))
            let outputs = try Interpreter(graph: graph).run([probe])
            errors[layer] = zip(outputs, expected).reduce(0.0) { $0 + meanSquaredDifference($1.0, $1.1) }
            progress.update(index + 1, layers.count)
        }
        progress.finish()
        return layers.filter { errors[$0, default: 0] > 0 }.sorted { errors[$0]! > errors[$1]! }
    }
}

/// The int8 pipeline split where quantization starts: the float passes and the calibration
/// run once, and each set of layers kept in float re-runs only the quantizing passes
/// (--max-drop tries dozens of sets, and calibrating is most of a pipeline's time).
private struct Int8Trials {
    let calibrated: Graph
    let options: PipelineOptions
    private let split = passRegistry.firstIndex { $0.name == "quantize-int8" } ?? passRegistry.count

    init(_ imported: Graph, options: PipelineOptions) throws {
        self.options = options
        calibrated = try runPipeline(imported, passes: Array(passRegistry[..<split]), context: PassContext(options: options))
    }

    func quantized(keepingFloat kept: Set<String>) throws -> Graph {
        var trial = options
        trial.keepFloat = kept
        return try runPipeline(calibrated, passes: Array(passRegistry[split...]), context: PassContext(options: trial))
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
