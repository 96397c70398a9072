import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter

/// The metric a comparison or `--max-drop` watches.
public enum MetricChoice: String, Sendable, CaseIterable {
    /// AUROC when a sample can carry several labels (multi-hot rows), accuracy otherwise.
    case auto
    /// Mean AUROC over the classes that have both labels.
    case auroc
    case accuracy
}

/// Samples with their labels, the model output the labels score and the metric it is scored by.
public struct LabelledData {
    /// One tensor per model input, batch first.
    public let samples: [Tensor]
    public let labels: LabelTable
    /// Never `.auto`: resolved from the labels.
    public let metric: MetricChoice
    /// The model output the labels score, by its place in the model's output order.
    public let output: Int

    public init(samples: [Tensor], labels: LabelTable, metric: MetricChoice, output: Int = 0) {
        self.samples = samples
        self.labels = labels
        self.metric = metric != .auto ? metric : labels.rows.contains { $0.reduce(0, +) != 1 } ? .auroc : .accuracy
        self.output = output
    }

    /// Samples from `data` (one `.npy` per input of `model`, or for a one-input model an image
    /// folder named by the labels CSV) and labels from `labels` (`.npy` (N, classes) or a CSV,
    /// see `readLabelCSV`) for `model`'s output named `output` (default: its first).
    public static func load(data: SampleFile, labels: String, metric: MetricChoice, model: Graph,
                            output: String? = nil) throws -> LabelledData {
        let table = try loadLabelTable(labels)
        let scored = try scoredOutput(model, named: output, labels: labels, classes: table.classes.count)
        let samples = try loadSamples(data, for: model.modelInputs, names: table.images.isEmpty ? nil : table.images,
                                      label: "evaluation images")
        guard table.rows.count == samples.sampleCount else {
            throw H5ToLiteError(file: labels, "\(table.rows.count) label rows for \(samples.sampleCount) samples in "
                                + data.paths.joined(separator: ","))
        }
        return LabelledData(samples: samples, labels: table, metric: metric, output: scored)
    }
}

/// The place of the output the labels score (`name`, or the first), which must give one value
/// per label column.
private func scoredOutput(_ model: Graph, named name: String?, labels: String, classes: Int) throws -> Int {
    let names = model.outputs.map { model[$0].name }
    guard let index = name.map({ names.firstIndex(of: $0) }) ?? 0 else {
        throw H5ToLiteError(file: labels, "the model has no output '\(name ?? "")' to score "
                            + "(its outputs: \(names.map { "'\($0)'" }.joined(separator: ", ")))")
    }
    let values = model[model.outputs[index]].shape.dropFirst().reduce(1, *)
    guard values == classes else {
        throw H5ToLiteError(file: labels, "\(classes) label columns, but output '\(names[index])' gives \(values) values per sample"
                            + (names.count > 1 ? " (the labels score the first output unless --labelled-output names another)" : ""))
    }
    return index
}

func loadLabelTable(_ path: String) throws -> LabelTable {
    guard path.hasSuffix(".npy") else { return try readLabelCSV(path: path) }
    let tensor = try readNPY(path: path)
    let classes = tensor.shape.count > 1 ? tensor.shape[1...].reduce(1, *) : 1
    let rows = stride(from: 0, to: tensor.data.count, by: classes).map { Array(tensor.data[$0..<$0 + classes]) }
    return LabelTable(classes: (0..<classes).map { "class \($0)" }, rows: rows, images: [])
}

/// Runs `graph` on every sample with the bundled interpreter and scores the labelled output
/// against the labels. `file` (the variant's .tflite) gives the size columns; `reference` the
/// change, top-1 agreement and, with several outputs, each output's error columns.
public func evaluate(_ graph: Graph, name: String, on data: LabelledData, file: [UInt8]? = nil, fileSize: Int? = nil,
                     reference: VariantResult? = nil) throws -> VariantResult {
    let interpreter = try Interpreter(graph: graph)
    let progress = ProgressBar(label: name)
    var outputs = [[Float]](repeating: [], count: graph.outputs.count)
    let start = Date()
    var done = 0
    for batch in batches(data.samples, size: 16) {
        for (index, output) in try interpreter.run(batch).enumerated() { outputs[index] += output.data }
        done += batch.sampleCount
        progress.update(done, data.samples.sampleCount)
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    let classes = data.labels.classes.count
    let scored = outputs[data.output]
    let perClass = perClassAUROC(outputs: scored, labels: data.labels.flat, classes: classes)
    let value = data.metric == .auroc ? (meanDefined(perClass) ?? 0)
        : accuracy(outputs: scored, labels: data.labels.flat, classes: classes)
    return VariantResult(name: name, bytes: fileSize ?? file?.count ?? 0, gzipBytes: try file.map(gzipSize) ?? 0, metric: value,
                         change: reference.map { value - $0.metric } ?? 0, perClassAUROC: perClass.map { $0 ?? .nan },
                         top1Agreement: reference.map { top1Agreement(scored, $0.outputs[data.output], classes: classes) } ?? 1,
                         millisecondsPerImage: seconds * 1000 / Double(data.samples.sampleCount),
                         multiplyAdds: multiplyAdds(graph),
                         outputErrors: outputs.count > 1 ? reference.map { meanAbsoluteErrors(outputs, $0.outputs) } : nil,
                         outputs: outputs)
}

/// Each output's mean absolute difference from the reference's same output.
private func meanAbsoluteErrors(_ outputs: [[Float]], _ reference: [[Float]]) -> [Double] {
    zip(outputs, reference).map { output, expected in
        zip(output, expected).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(max(output.count, 1))
    }
}
