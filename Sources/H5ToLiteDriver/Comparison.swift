import Foundation
import H5ToLiteCore
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLitePasses
import H5ToLiteTFLite

/// The original work's result table: `imported` converted into every variant, each run on
/// the labelled data with the bundled interpreter. Writes every variant's .tflite,
/// `results.md`, `results.json` (with per-class AUROC) and `chart.svg` (size against the
/// metric) into `folder`. `originalSize` is the Keras file's size, the first row's. With
/// several outputs, the labels score one of them (`data.output`) and every output gets a
/// column of its error against the original.
public func compareVariants(model: String, imported: Graph, originalSize: Int, variants: [Variant], data: LabelledData,
                            calibration: [Tensor], folder: String,
                            progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }) throws -> ComparisonReport {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var rows = [try evaluate(imported, name: "original (Keras)", on: data, fileSize: originalSize)]
    for variant in variants {
        let context = PassContext(options: variant.options(calibration: calibration), progress: progress)
        let bytes = try writeTFLite(try runPipeline(imported, context: context))
        try writeAtomically(bytes, to: joined(folder, "\(variant.fileName).tflite"))
        // The file as written, read back: what a user would deploy.
        rows.append(try evaluate(try readTFLite(bytes: bytes, name: variant.spec), name: variant.spec, on: data, file: bytes,
                                 reference: rows[0]))
    }
    let outputs = imported.outputs.count > 1 ? imported.outputs.map { imported[$0].name } : nil
    let report = ComparisonReport(model: model, metric: data.metric.rawValue, samples: data.samples.sampleCount,
                                  classes: data.labels.classes, outputs: outputs, labelledOutput: outputs?[data.output], rows: rows)
    try writeAtomically(Array(report.markdown.utf8), to: joined(folder, "results.md"))
    try writeAtomically(Array(try report.json().utf8), to: joined(folder, "results.json"))
    let chart = sizeMetricChart(rows.map { ChartPoint(label: $0.name, sizeMB: Double($0.bytes) / 1e6, metric: $0.metric) },
                                metricName: data.metric.rawValue,
                                title: "\((model as NSString).lastPathComponent): size against \(data.metric.rawValue)")
    try writeAtomically(Array(chart.utf8), to: joined(folder, "chart.svg"))
    return report
}
