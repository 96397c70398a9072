import Foundation
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite

extension Convert {
    /// `--max-drop`: quantize, measure the metric on the labelled data, and while it has
    /// dropped by more than `maxDrop`, move back to float the layer whose fallback helps most.
    /// Candidates are the layers with the largest error against the float graph (the
    /// per-layer table); each is confirmed by measuring the metric with it kept in float.
    func accuracyAwareKeepFloat(imported: Graph, options: PipelineOptions, maxDrop: Double) throws -> Set<String> {
        let table = try loadLabelTable(labels!)
        let inputShape = Array(imported[imported.inputs[0]].shape.dropFirst())
        let samples = try loadSamples(data!, inputShape: inputShape, preprocessing: preprocess,
                                      names: table.images.isEmpty ? nil : table.images, label: "evaluation images")
        let chosen = resolvedMetric(metric, table)
        let original = try evaluateVariant(name: "float32", graph: imported, bytes: nil, fileSize: 0, samples: samples,
                                           labels: table, metric: chosen, reference: nil)
        let float = try floatReference(imported, options: options)
        var kept = options.keepFloat
        var (graph, score) = try quantizedScore(imported, options, kept, samples, table, chosen)
        print(String(format: "max-drop: %@ %.4f as float32, %.4f in int8 (drop %.4f, allowed %.4f)",
                     chosen.rawValue, original.metric, score, original.metric - score, maxDrop))
        // Each round measures up to four candidates on the whole data set; ten rounds bound the time.
        for _ in 0..<10 where original.metric - score > maxDrop {
            let candidates = try worstLayers(float: float, quantized: graph, samples: samples)
                .filter { !kept.contains($0) }.prefix(4)
            print("max-drop: trying \(candidates.joined(separator: ", "))")
            var best: (layer: String, graph: Graph, score: Double)?
            for layer in candidates {
                let (trial, trialScore) = try quantizedScore(imported, options, kept.union([layer]), samples, table, chosen)
                print(String(format: "max-drop:   %@ in float32 gives %.4f", layer, trialScore))
                if trialScore > best?.score ?? score { best = (layer, trial, trialScore) }
            }
            guard let best else {
                print("max-drop: no remaining layer helps; stopping with a drop of \(String(format: "%.4f", original.metric - score))")
                break
            }
            kept.insert(best.layer)
            (graph, score) = (best.graph, best.score)
            print(String(format: "max-drop: keeping %@ in float32: %@ %.4f (drop %.4f)", best.layer, chosen.rawValue, score,
                         original.metric - score))
        }
        let added = kept.subtracting(options.keepFloat).sorted()
        print("max-drop: kept in float32: \(added.isEmpty ? "nothing" : added.joined(separator: ", ")); "
              + String(format: "final drop %.4f", original.metric - score))
        return kept
    }

    private func quantizedScore(_ imported: Graph, _ options: PipelineOptions, _ kept: Set<String>, _ samples: Tensor,
                                _ table: LabelTable, _ metric: MetricChoice) throws -> (Graph, Double) {
        var trialOptions = options
        trialOptions.keepFloat = kept
        let graph = try runPipeline(imported, context: PassContext(options: trialOptions))
        let result = try evaluateVariant(name: "int8", graph: try readTFLite(bytes: try writeTFLite(graph), name: "int8"),
                                         bytes: nil, fileSize: 0, samples: samples, labels: table, metric: metric, reference: nil)
        return (graph, result.metric)
    }

    /// Keras layers ordered by how much error their int8 outputs carry, worst first.
    private func worstLayers(float: Graph, quantized: Graph, samples: Tensor) throws -> [String] {
        let probe = firstSamples(samples, count: 16)
        // QUANTIZE/DEQUANTIZE ops belong to no Keras layer.
        let layerOps = quantized.ops.filter { !$0.kind.isConversion }
        let origins = Dictionary(layerOps.flatMap { op in op.outputs.map { (layerValueName(quantized[$0].name), op.origin) } },
                                 uniquingKeysWith: { first, _ in first })
        var seen: Set<String> = []
        return try layerErrors(float: float, quantized: quantized, samples: probe).compactMap { error in
            guard let origin = origins[error.name], seen.insert(origin).inserted else { return nil }
            return origin
        }
    }
}
