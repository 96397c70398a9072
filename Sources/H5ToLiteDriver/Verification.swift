import H5ToLiteCore
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite

/// `--verify`: how far the written file's outputs are from the model's as Keras defines it.
public struct VerificationReport {
    /// The graph as imported (before any pass) against the written file, one comparison per
    /// model output in the model's order.
    public let conversion: [NamedComparison]
    /// With a pruning recovery: the pruned weights as they are against the original, to show
    /// what the recovery won back.
    public let withoutRecovery: [NamedComparison]?
    /// For dynamic and int8 models: each layer against the same layer of the float pipeline.
    public let layers: [LayerError]?
}

/// The largest absolute error `--verify` accepts by default: float modes must match
/// closely; lossy modes (pruning, int8 weights) only report.
public func defaultTolerance(_ options: PipelineOptions) -> Double? {
    guard options.pruning == nil, options.channelPruning == nil else { return nil }
    switch options.quantization {
    case .none: return 1e-4
    case .float16: return 1e-2
    case .dynamic, .int8: return nil
    }
}

/// One model output's comparison, named after the output.
public struct NamedComparison {
    public let output: String
    public let comparison: OutputComparison
}

/// The samples `--verify` runs: `list` (one `.npy` per model input, comma-separated) or, without
/// it, 8 seeded standard-normal samples of each input.
public func verificationSamples(_ list: String?, model: Graph, preprocessing: Preprocessing?) throws -> [Tensor] {
    try list.map { try loadSamples(SampleFile(list: $0, preprocessing: preprocessing), for: model.modelInputs, label: "verification images") }
        ?? seededNormalInputs(shapes: model.sampleShapes, count: 8)
}

/// Runs `original` (the graph as imported) and `written` (the file's bytes, read back as a
/// user's runtime would) on `samples` (one tensor per model input) and compares every output;
/// adds the comparisons the options call for.
public func verifyConversion(original: Graph, optimized: Graph, written: [UInt8], options: PipelineOptions,
                             samples: [Tensor]) throws -> VerificationReport {
    let expected = try Interpreter(graph: original).run(samples)
    func comparison(_ candidate: Graph) throws -> [NamedComparison] {
        let actual = try Interpreter(graph: candidate).run(samples)
        return zip(original.outputs, zip(expected, actual)).map { id, pair in
            NamedComparison(output: original[id].name,
                            comparison: OutputComparison(reference: pair.0.data, candidate: pair.1.data, samples: samples.sampleCount))
        }
    }
    let conversion = try comparison(try readTFLite(bytes: written, name: "the written file"))
    var withoutRecovery: [NamedComparison]?
    let recovery = options.pruning?.recovery ?? options.channelPruning?.recovery ?? .none
    if options.calibration != nil, recovery != .none {
        var unrecovered = options
        unrecovered.pruning?.recovery = .none
        unrecovered.channelPruning?.recovery = .none
        withoutRecovery = try comparison(try runPipeline(original, context: PassContext(options: unrecovered)))
    }
    let quantized = options.quantization == .dynamic || options.quantization == .int8
    let layers = quantized ? try layerErrors(float: try floatReference(original, options: options), quantized: optimized,
                                             samples: samples) : nil
    return VerificationReport(conversion: conversion, withoutRecovery: withoutRecovery, layers: layers)
}

extension [NamedComparison] {
    /// One line per output: its summary, after the output's name when there are several.
    public var summaries: [String] {
        map { label($0) + $0.comparison.summary }
    }

    /// The first output whose max absolute error exceeds `tolerance`, as a sentence.
    public func excess(over tolerance: Double) -> String? {
        first { $0.comparison.maxAbsoluteError > tolerance }.map {
            "\(label($0))max abs error \($0.comparison.maxAbsoluteError) exceeds the tolerance \(tolerance)"
        }
    }

    private func label(_ named: NamedComparison) -> String {
        count > 1 ? "output '\(named.output)': " : ""
    }
}

extension OutputComparison {
    /// One line: samples, max and mean absolute error, cosine similarity, top-1 agreement.
    public var summary: String {
        String(format: "%d samples, max abs error %.3g, mean abs error %.3g, cosine similarity %.8f, top-1 agreement %.1f%%",
               samples, maxAbsoluteError, meanAbsoluteError, cosineSimilarity, top1Agreement * 100)
    }
}
