import ArgumentParser
import Foundation
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The original work's result table: every variant's size, accuracy or AUROC, and speed.",
        discussion: """
        Converts MODEL into each variant, runs every variant on the labelled data with the \
        bundled interpreter, and writes results.md, results.json and chart.svg to --out. \
        Variants: float32, float16, dynamic, int8, prune:S (magnitude pruning to sparsity S, \
        BatchNorm statistics re-measured on the calibration data), prune:S:raw (without that) \
        and combinations such as prune:0.5+int8.
        """)

    @Argument(help: "The Keras model (.h5 or .keras).")
    var model: String

    @Option(help: "Evaluation inputs: a .npy array (N, H, W, C) of preprocessed samples, or a folder of PNG/JPEG/DICOM images named by the labels CSV (with --preprocess).")
    var data: String

    @Option(help: "How images in a --data or --calibration folder are preprocessed: torch, tf, caffe or none.")
    var preprocess: Preprocessing?

    @Option(help: "Labels: a .npy array (N, classes) one-hot or multi-hot, or a CSV (image column, one column per class).")
    var labels: String

    @Option(help: "auroc (mean over classes, multi-label models), accuracy, or auto (auroc when a sample can have several labels).")
    var metric: MetricChoice = .auto

    @Option(help: "Comma-separated variants.")
    var variants: String = "float32,float16,dynamic,int8,prune:0.5,prune:0.5+int8"

    @Option(help: "Calibration samples (.npy or image folder) for int8 variants; default: the first 100 evaluation samples.")
    var calibration: String?

    @Option(help: "Folder for the variants' .tflite files and the results.")
    var out: String = "h5tolite-compare"

    func run() throws {
        try probeKerasFile(model)
        let keras = try loadKerasModel(path: model)
        let original = try importKeras(keras)
        let table = try loadLabels()
        let inputShape = Array(original[original.inputs[0]].shape.dropFirst())
        let samples = try loadSamples(data, inputShape: inputShape, preprocessing: preprocess,
                                      names: table.images.isEmpty ? nil : table.images, label: "evaluation images")
        guard table.rows.count == samples.shape.first else {
            throw CommandError("\(labels): \(table.rows.count) label rows for \(samples.shape.first ?? 0) samples in \(data)")
        }
        let chosen = metric == .auto ? (table.rows.contains { $0.reduce(0, +) != 1 } ? .auroc : .accuracy) : metric
        let calibrationSamples = try calibration.map {
            try loadSamples($0, inputShape: inputShape, preprocessing: preprocess, label: "calibration images")
        } ?? firstSamples(samples, count: 100)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let originalSize = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
        var rows = [try evaluate(name: "original (Keras)", graph: original, bytes: nil, fileSize: originalSize,
                                 samples: samples, labels: table, metric: chosen, reference: nil)]
        for spec in variants.split(separator: ",").map(String.init) {
            let variant = try Variant(spec)
            let context = PassContext(options: variant.options(calibration: calibrationSamples))
            let graph = try runPipeline(original, context: context)
            let bytes = try writeTFLite(graph)
            try writeAtomically(bytes, to: (out as NSString).appendingPathComponent("\(variant.fileName).tflite"))
            rows.append(try evaluate(name: spec, graph: try readTFLite(bytes: bytes, name: spec), bytes: bytes,
                                     fileSize: bytes.count, samples: samples, labels: table, metric: chosen,
                                     reference: rows[0]))
        }
        let report = ComparisonReport(model: model, metric: chosen.rawValue, samples: samples.shape[0], classes: table.classes, rows: rows)
        print(report.markdown, terminator: "")
        try writeAtomically(Array(report.markdown.utf8), to: (out as NSString).appendingPathComponent("results.md"))
        try writeAtomically(Array(try report.json().utf8), to: (out as NSString).appendingPathComponent("results.json"))
        let chart = sizeMetricChart(rows.map { ChartPoint(label: $0.name, sizeMB: Double($0.bytes) / 1e6, metric: $0.metric) },
                                    metricName: chosen.rawValue, title: "\((model as NSString).lastPathComponent): size against \(chosen.rawValue)")
        try writeAtomically(Array(chart.utf8), to: (out as NSString).appendingPathComponent("chart.svg"))
    }

    private func loadLabels() throws -> LabelTable {
        if labels.hasSuffix(".npy") {
            let tensor = try readNPY(path: labels)
            let classes = tensor.shape.count > 1 ? tensor.shape[1...].reduce(1, *) : 1
            let rows = stride(from: 0, to: tensor.data.count, by: classes).map { Array(tensor.data[$0..<$0 + classes]) }
            return LabelTable(classes: (0..<classes).map { "class \($0)" }, rows: rows, images: [])
        }
        return try readLabelCSV(path: labels)
    }

    private func evaluate(name: String, graph: Graph, bytes: [UInt8]?, fileSize: Int, samples: Tensor, labels: LabelTable,
                          metric: MetricChoice, reference: VariantResult?) throws -> VariantResult {
        let interpreter = try Interpreter(graph: graph)
        var progress = ProgressLine(label: name, total: samples.shape[0])
        var outputs: [Float] = []
        let start = Date()
        for batch in batches(samples, size: 16) {
            outputs += try interpreter.run([batch])[0].data
            progress.advance(by: batch.shape[0])
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
}

enum MetricChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, auroc, accuracy
}

/// One column of the comparison: a quantization mode, optionally after pruning.
struct Variant {
    var quantization: QuantizationMode = .none
    var prune: Double?
    /// `prune:S:raw` prunes without re-measuring BatchNorm statistics.
    var noReestimate = false
    let spec: String

    init(_ spec: String) throws {
        self.spec = spec
        for part in spec.split(separator: "+") {
            if part.hasPrefix("prune:"), let sparsity = Double(part.dropFirst(6).split(separator: ":")[0]),
               (0..<1).contains(sparsity) {
                prune = sparsity
                noReestimate = part.hasSuffix(":raw")
            } else if part == "float32" {
                quantization = .none
            } else if let mode = QuantizationMode(rawValue: String(part)), mode != .none {
                quantization = mode
            } else {
                throw ValidationError("--variants: '\(spec)' is not float32, float16, dynamic, int8, prune:S or a '+' of them")
            }
        }
    }

    var fileName: String {
        spec.replacingOccurrences(of: ":", with: "-").replacingOccurrences(of: "+", with: "_")
    }

    func options(calibration: Tensor) -> PipelineOptions {
        PipelineOptions(pruning: prune.map { PruningOptions(sparsity: $0) }, quantization: quantization,
                        calibration: quantization == .int8 || prune != nil ? calibration : nil,
                        reestimateBatchNorm: !noReestimate)
    }
}

func batches(_ samples: Tensor, size: Int) -> [Tensor] {
    let count = samples.shape.first ?? 0
    let stride = count > 0 ? samples.data.count / count : 0
    return Swift.stride(from: 0, to: count, by: size).map { start in
        let end = min(start + size, count)
        return Tensor(shape: [end - start] + samples.shape.dropFirst(), data: Array(samples.data[start * stride..<end * stride]))
    }
}

func firstSamples(_ samples: Tensor, count: Int) -> Tensor {
    batches(samples, size: count).first ?? samples
}
