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

/// Samples with their labels and the metric they are scored by.
public struct LabelledData {
    public let samples: Tensor
    public let labels: LabelTable
    /// Never `.auto`: resolved from the labels.
    public let metric: MetricChoice

    public init(samples: Tensor, labels: LabelTable, metric: MetricChoice) {
        self.samples = samples
        self.labels = labels
        self.metric = metric != .auto ? metric : labels.rows.contains { $0.reduce(0, +) != 1 } ? .auroc : .accuracy
    }

    /// Samples from `data` (`.npy` or an image folder named by the labels CSV) and labels from
    /// `labels` (`.npy` (N, classes) or a CSV, see `readLabelCSV`).
    public static func load(data: String, labels: String, preprocessing: Preprocessing?, metric: MetricChoice,
                            inputShape: [Int]) throws -> LabelledData {
        let table = try loadLabelTable(labels)
        let samples = try loadSamples(data, inputShape: inputShape, preprocessing: preprocessing,
                                      names: table.images.isEmpty ? nil : table.images, label: "evaluation images")
        guard table.rows.count == samples.shape.first else {
            throw H5ToLiteError(file: labels, "\(table.rows.count) label rows for \(samples.shape.first ?? 0) samples in \(data)")
        }
        return LabelledData(samples: samples, labels: table, metric: metric)
    }
}

func loadLabelTable(_ path: String) throws -> LabelTable {
    guard path.hasSuffix(".npy") else { return try readLabelCSV(path: path) }
    let tensor = try readNPY(path: path)
    let classes = tensor.shape.count > 1 ? tensor.shape[1...].reduce(1, *) : 1
    let rows = stride(from: 0, to: tensor.data.count, by: classes).map { Array(tensor.data[$0..<$0 + classes]) }
    return LabelTable(classes: (0..<classes).map { "class \($0)" }, rows: rows, images: [])
}

/// Runs `graph` on every sample with the bundled interpreter and scores it against the
/// labels. `file` (the variant's .tflite) gives the size columns; `reference` the change
/// and top-1 agreement columns.
public func evaluate(_ graph: Graph, name: String, on data: LabelledData, file: [UInt8]? = nil, fileSize: Int? = nil,
                     reference: VariantResult? = nil) throws -> VariantResult {
    let interpreter = try Interpreter(graph: graph)
    let progress = ProgressBar(label: name)
    var outputs: [Float] = []
    let start = Date()
    var done = 0
    for batch in batches(data.samples, size: 16) {
        outputs += try interpreter.run([batch])[0].data
        done += batch.shape[0]
        progress.update(done, data.samples.shape[0])
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    let classes = data.labels.classes.count
    let perClass = perClassAUROC(outputs: outputs, labels: data.labels.flat, classes: classes)
    let value = data.metric == .auroc ? (meanDefined(perClass) ?? 0)
        : accuracy(outputs: outputs, labels: data.labels.flat, classes: classes)
    return VariantResult(name: name, bytes: fileSize ?? file?.count ?? 0, gzipBytes: try file.map(gzipSize) ?? 0, metric: value,
                         change: reference.map { value - $0.metric } ?? 0, perClassAUROC: perClass.map { $0 ?? .nan },
                         top1Agreement: reference.map { top1Agreement(outputs, $0.outputs, classes: classes) } ?? 1,
                         millisecondsPerImage: seconds * 1000 / Double(data.samples.shape[0]), outputs: outputs)
}
