import Foundation
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter

/// Labels from a `.npy` (N, classes) or a CSV (see `readLabelCSV`).
func loadLabelTable(_ path: String) throws -> LabelTable {
    guard path.hasSuffix(".npy") else { return try readLabelCSV(path: path) }
    let tensor = try readNPY(path: path)
    let classes = tensor.shape.count > 1 ? tensor.shape[1...].reduce(1, *) : 1
    let rows = stride(from: 0, to: tensor.data.count, by: classes).map { Array(tensor.data[$0..<$0 + classes]) }
    return LabelTable(classes: (0..<classes).map { "class \($0)" }, rows: rows, images: [])
}

/// AUROC when a sample can carry several labels (multi-hot rows), accuracy otherwise.
func resolvedMetric(_ choice: MetricChoice, _ labels: LabelTable) -> MetricChoice {
    guard choice == .auto else { return choice }
    return labels.rows.contains { $0.reduce(0, +) != 1 } ? .auroc : .accuracy
}

/// Runs `graph` on every sample with the bundled interpreter and scores it against the labels.
func evaluateVariant(name: String, graph: Graph, bytes: [UInt8]?, fileSize: Int, samples: Tensor, labels: LabelTable,
                     metric: MetricChoice, reference: VariantResult?) throws -> VariantResult {
    let interpreter = try Interpreter(graph: graph)
    let progress = ProgressBar(label: name)
    var outputs: [Float] = []
    let start = Date()
    var done = 0
    for batch in batches(samples, size: 16) {
        outputs += try interpreter.run([batch])[0].data
        done += batch.shape[0]
        progress.update(done, samples.shape[0])
    }
    progress.finish()
    let seconds = Date().timeIntervalSince(start)
    let classes = labels.classes.count
    let perClass = perClassAUROC(outputs: outputs, labels: labels.flat, classes: classes)
    let value = metric == .auroc ? (meanDefined(perClass) ?? 0) : accuracy(outputs: outputs, labels: labels.flat, classes: classes)
    return VariantResult(name: name, bytes: fileSize, gzipBytes: try bytes.map(gzipSize) ?? 0, metric: value,
                         change: reference.map { value - $0.metric } ?? 0, perClassAUROC: perClass.map { $0 ?? .nan },
                         top1Agreement: reference.map { top1Agreement(outputs, $0.outputs, classes: classes) } ?? 1,
                         millisecondsPerImage: seconds * 1000 / Double(samples.shape[0]), outputs: outputs)
}
