import H5ToLiteCore
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite

/// `--verify`: how far the written file's outputs are from the model's as Keras defines it.
public struct VerificationReport {
    /// The graph as imported (before any pass) against the written file.
    public let conversion: OutputComparison
    /// With a pruning recovery: the pruned weights as they are against the original, to show
    /// what the recovery won back.
    public let withoutRecovery: OutputComparison?
    /// For dynamic and int8 models: each layer against the same layer of the float pipeline.
    public let layers: [LayerError]?
}

/// The largest absolute error `--verify` accepts by default: float modes must match
/// closely; lossy modes (pruning, int8 weights) only report.
public func defaultTolerance(_ options: PipelineOptions) -> Double? {
    guard options.pruning == nil else { return nil }
    switch options.quantization {
    case .none: return 1e-4
    case .float16: return 1e-2
    case .dynamic, .int8: return nil
    }
}

/// Runs `original` (the graph as imported) and `written` (the file's bytes, read back as a
/// user's runtime would) on `samples` and compares them; adds the comparisons the options
/// call for.
public func verifyConversion(original: Graph, optimized: Graph, written: [UInt8], options: PipelineOptions,
                             samples: Tensor) throws -> VerificationReport {
    let expected = try Interpreter(graph: original).run([samples])[0]
    func comparison(_ candidate: Graph) throws -> OutputComparison {
        let actual = try Interpreter(graph: candidate).run([samples])[0]
        return OutputComparison(reference: expected.data, candidate: actual.data, samples: samples.shape[0])
    }
    let conversion = try comparison(try readTFLite(bytes: written, name: "the written file"))
    var withoutRecovery: OutputComparison?
    if options.calibration != nil, let pruning = options.pruning, pruning.recovery != .none {
        var unrecovered = options
        unrecovered.pruning?.recovery = .none
        withoutRecovery = try comparison(try runPipeline(original, context: PassContext(options: unrecovered)))
    }
    let quantized = options.quantization == .dynamic || options.quantization == .int8
    let layers = quantized ? try layerErrors(float: try floatReference(original, options: options), quantized: optimized,
                                             samples: samples) : nil
    return VerificationReport(conversion: conversion, withoutRecovery: withoutRecovery, layers: layers)
}

extension OutputComparison {
    /// One line: samples, max and mean absolute error, cosine similarity, top-1 agreement.
    public var summary: String {
        String(format: "%d samples, max abs error %.3g, mean abs error %.3g, cosine similarity %.8f, top-1 agreement %.1f%%",
               samples, maxAbsoluteError, meanAbsoluteError, cosineSimilarity, top1Agreement * 100)
    }
}
