import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite

/// `--max-drop`: the largest metric drop int8 may cost, and the labelled data measuring it.
public struct MaxDrop: Sendable {
    public var drop: Double
    public var data: SampleFile
    public var labels: String
    public var metric: MetricChoice
    /// The model output the labels score, by name; nil for the first.
    public var labelledOutput: String?

    public init(drop: Double, data: SampleFile, labels: String, metric: MetricChoice, labelledOutput: String? = nil) {
        self.drop = drop
        self.data = data
        self.labels = labels
        self.metric = metric
        self.labelledOutput = labelledOutput
    }
}

/// What `h5tolite convert` is asked to do, once its arguments are read.
public struct ConversionRequest: Sendable {
    /// The pipeline's options; calibration samples come from `calibration`.
    public var options: PipelineOptions
    public var calibration: SampleFile?
    public var maxDrop: MaxDrop?
    /// Stop after this pass: the result carries the graph there and no file bytes.
    public var stopAfter: String?
    /// TFLite metadata to write into the file; nil writes none.
    public var metadata: MetadataRequest?
    /// Store weights with at least 30% zeros in TFLite's sparse format (`--sparse-weights`).
    public var sparseWeights: Bool

    public init(options: PipelineOptions, calibration: SampleFile? = nil, maxDrop: MaxDrop? = nil, stopAfter: String? = nil,
                metadata: MetadataRequest? = nil, sparseWeights: Bool = false) {
        self.options = options
        self.calibration = calibration
        self.maxDrop = maxDrop
        self.stopAfter = stopAfter
        self.metadata = metadata
        self.sparseWeights = sparseWeights
    }
}

public struct ConversionResult {
    public let imported: Graph
    /// The options the pipeline ran with: calibration samples loaded, `--max-drop`'s layers
    /// added to those kept in float.
    public let options: PipelineOptions
    public let optimized: Graph
    /// The .tflite file; nil when the pipeline stopped early (`stopAfter`).
    public let bytes: [UInt8]?
    /// The metadata written into it, if any.
    public let metadata: PackedMetadata?
    /// What the passes reported, a line each.
    public let report: [String]
}

/// Imports `model`, runs the pipeline its request calls for (with `instrumentation` around
/// every pass) and writes the TFLite file in memory. `log` is told progress lines
/// (`--max-drop`'s search); `progress` drives progress bars of long passes.
public func convert(_ model: KerasModel, file: String, request: ConversionRequest, instrumentation: Instrumentation? = nil,
                    log: (String) -> Void = { _ in },
                    progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }) throws -> ConversionResult {
    let imported = try importKeras(model)
    try instrumentation?.start(imported)
    var options = request.options
    options.calibration = try request.calibration.map { try loadSamples($0, for: imported.modelInputs, label: "calibration images") }
    if let maxDrop = request.maxDrop {
        let data = try LabelledData.load(data: maxDrop.data, labels: maxDrop.labels, metric: maxDrop.metric, model: imported,
                                         output: maxDrop.labelledOutput)
        options.keepFloat = try searchKeepFloat(imported: imported, options: options, maxDrop: maxDrop.drop, data: data, log: log)
    }
    let passes = try selectedPasses(pipeline(for: options), stopAfter: request.stopAfter)
    let context = PassContext(options: options, progress: progress)
    let optimized: Graph
    do {
        optimized = try runPipeline(imported, passes: passes, context: context) { try instrumentation?.observe($0) }
    } catch let failure as PassFailure {
        let saved = instrumentation?.saveFailure(failure)
        throw H5ToLiteError(file: file, "\(failure.description)" + (saved.map { " (last good IR in \($0))" } ?? ""))
    }
    guard request.stopAfter == nil else {
        return ConversionResult(imported: imported, options: options, optimized: optimized, bytes: nil, metadata: nil, report: context.report)
    }
    var written = optimized
    if let metadata = request.metadata, metadata.normalizationInModel {
        written = try embedNormalization(optimized, metadata.preprocessing, file: file)
    }
    let metadata = try request.metadata.map { try planMetadata($0, graph: written, modelName: model.name, file: file) }
    var report = context.report
    let sparse = request.sparseWeights ? planSparseWeights(written) : (sparse: [:], skipped: [])
    let bytes = try writeTFLite(written, metadata: metadata, sparse: sparse.sparse)
    if request.sparseWeights { report += sparseWeightsReport(sparse.sparse, skipped: sparse.skipped) }
    if options.channelPruning != nil {
        report.append(try channelPruningSpeedUp(imported, options: options, pruned: optimized))
    }
    return ConversionResult(imported: imported, options: options, optimized: optimized, bytes: bytes, metadata: metadata, report: report)
}

/// What channel pruning is for, measured: the bundled interpreter's time per image for the same
/// conversion without it and for the pruned model.
func channelPruningSpeedUp(_ imported: Graph, options: PipelineOptions, pruned: Graph) throws -> String {
    var denseOptions = options
    denseOptions.channelPruning = nil
    let dense = try runPipeline(imported, passes: pipeline(for: denseOptions).passes, context: PassContext(options: denseOptions))
    let threads = ProcessInfo.processInfo.activeProcessorCount
    let before = try benchmark(dense, threads: threads, runs: 10).median
    let after = try benchmark(pruned, threads: threads, runs: 10).median
    return "bundled interpreter: " + String(format: "%.2f ms per image without --prune-channels, %.2f ms with it (%.2fx, %d threads)",
                                            before, after, after / before, threads)
}

/// What `--sparse-weights` stored sparse, in which layouts, and what it kept dense and why.
func sparseWeightsReport(_ sparse: [ValueID: SparseConstant], skipped: [String]) -> [String] {
    var layouts: [String: Int] = [:]
    for constant in sparse.values { layouts[constant.description, default: 0] += 1 }
    let zeros = sparse.values.reduce(0) { $0 + $1.zeros }
    let elements = sparse.values.reduce(0) { $0 + $1.elements }
    var lines = ["sparse-weights: \(sparse.count) weight tensor(s) stored sparse ("
                 + layouts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                 + "), \(zeros) of their \(elements) values zero"]
    if sparse.isEmpty {
        lines = skipped.isEmpty ? ["sparse-weights: no weight tensor has 30% zeros or more; the file is dense"] : []
    }
    if !skipped.isEmpty {
        lines.append("sparse-weights: \(skipped.count) int8 weight tensor(s) kept dense: LiteRT's default XNNPACK delegate "
                     + "cannot prepare an op reading int8 weights through DENSIFY, and computes a hybrid FULLY_CONNECTED's "
                     + "int8 blocks wrongly")
    }
    return lines
}

/// The pipeline's passes, up to and including `stopAfter` when given.
func selectedPasses(_ pipeline: Pipeline, stopAfter: String?) throws -> [Pass] {
    guard let stopAfter else { return pipeline.passes }
    guard let last = pipeline.passes.firstIndex(where: { $0.name == stopAfter }) else {
        throw H5ToLiteError("--stop-after: the \(pipeline.name) pipeline has no pass named '\(stopAfter)' "
                           + "(it runs \(pipeline.passes.map(\.name).joined(separator: ", ")))")
    }
    return Array(pipeline.passes[...last])
}
