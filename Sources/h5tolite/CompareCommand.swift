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
        the kept weights refitted on the calibration data), prune:S:batchnorm (BatchNorm \
        statistics re-measured instead), prune:S:raw (neither), \
        and combinations such as prune:0.5+int8, int8+bias-correction or int8+int8-head (the \
        final sigmoid/softmax in int8, as TensorFlow writes it).
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
        let keras = try loadKerasFileIsolated(model)
        let original = try importKeras(keras)
        let table = try loadLabelTable(labels)
        let inputShape = Array(original[original.inputs[0]].shape.dropFirst())
        let samples = try loadSamples(data, inputShape: inputShape, preprocessing: preprocess,
                                      names: table.images.isEmpty ? nil : table.images, label: "evaluation images")
        guard table.rows.count == samples.shape.first else {
            throw CommandError("\(labels): \(table.rows.count) label rows for \(samples.shape.first ?? 0) samples in \(data)")
        }
        let chosen = resolvedMetric(metric, table)
        let calibrationSamples = try calibration.map {
            try loadSamples($0, inputShape: inputShape, preprocessing: preprocess, label: "calibration images")
        } ?? firstSamples(samples, count: 100)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let originalSize = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
        var rows = [try evaluateVariant(name: "original (Keras)", graph: original, bytes: nil, fileSize: originalSize,
                                 samples: samples, labels: table, metric: chosen, reference: nil)]
        for spec in variants.split(separator: ",").map(String.init) {
            let variant = try Variant(spec)
            let context = PassContext(options: variant.options(calibration: calibrationSamples), progress: passProgress())
            let graph = try runPipeline(original, context: context)
            let bytes = try writeTFLite(graph)
            try writeAtomically(bytes, to: (out as NSString).appendingPathComponent("\(variant.fileName).tflite"))
            rows.append(try evaluateVariant(name: spec, graph: try readTFLite(bytes: bytes, name: spec), bytes: bytes,
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
}

enum MetricChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, auroc, accuracy
}

/// One column of the comparison: a quantization mode, optionally after pruning.
struct Variant {
    var quantization: QuantizationMode = .none
    var prune: Double?
    /// `prune:S:batchnorm` and `prune:S:raw` pick another recovery than the refit.
    var recovery = PruningRecovery.refit
    /// `int8+bias-correction` corrects int8 biases; `int8+int8-head` keeps a final sigmoid or
    /// softmax in int8 (TensorFlow's layout) instead of float.
    var biasCorrection = false
    var integerHead = false
    let spec: String

    init(_ spec: String) throws {
        self.spec = spec
        for part in spec.split(separator: "+") {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count <= 3, fields[0] == "prune", fields.count >= 2, let sparsity = Double(fields[1]),
               (0..<1).contains(sparsity),
               let recovery = fields.count == 3 ? PruningRecovery(pruneVariantSuffix: fields[2]) : .refit {
                prune = sparsity
                self.recovery = recovery
            } else if part == "float32" {
                quantization = .none
            } else if part == "bias-correction" {
                biasCorrection = true
            } else if part == "int8-head" {
                integerHead = true
            } else if let mode = QuantizationMode(rawValue: String(part)), mode != .none {
                quantization = mode
            } else {
                throw ValidationError("--variants: '\(spec)' is not float32, float16, dynamic, int8, prune:S[:batchnorm|:raw], "
                                      + "bias-correction, int8-head or a '+' of them")
            }
        }
    }

    var fileName: String {
        spec.replacingOccurrences(of: ":", with: "-").replacingOccurrences(of: "+", with: "_")
    }

    func options(calibration: Tensor) -> PipelineOptions {
        var options = PipelineOptions(pruning: prune.map { PruningOptions(sparsity: $0, recovery: recovery) },
                                      quantization: quantization,
                                      calibration: quantization == .int8 || prune != nil ? calibration : nil)
        options.biasCorrection = biasCorrection
        options.floatHead = !integerHead
        return options
    }
}

extension PruningRecovery {
    init?(pruneVariantSuffix suffix: Substring) {
        switch suffix {
        case "raw": self = .none
        case "batchnorm": self = .batchnorm
        default: return nil
        }
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
