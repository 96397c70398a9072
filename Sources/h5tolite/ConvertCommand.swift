import ArgumentParser
import Foundation
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteInterpreter
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a Keras model (.h5 or .keras) to a .tflite file.",
        discussion: """
        Reads tf.keras 2 and Keras 3 .h5 files and Keras 3 .keras archives, runs the \
        optimization passes (see `h5tolite passes`) and writes a TFLite flatbuffer.
        """)

    @Argument(help: "The Keras model: .h5 (tf.keras 2 or Keras 3) or .keras.")
    var model: String

    @Option(name: .shortAndLong, help: "Where to write the .tflite file.")
    var output: String

    @Option(name: .customLong("dump-after"), parsing: .upToNextOption,
            help: "Write the IR after these passes (names, comma separated, or 'all').")
    var dumpAfter: [String] = []

    @Option(name: .customLong("dump-dir"), help: "Folder for --dump-after files.")
    var dumpDirectory: String = "h5tolite-dump"

    @Flag(name: .customLong("print-after-all"), help: "Print the IR to stderr after every pass.")
    var printAfterAll = false

    @Flag(name: .customLong("bias-correction"), help: "With --quantize int8: fold each channel's mean shift (float vs int8 on the calibration data) into the biases.")
    var biasCorrection = false

    @Option(name: .customLong("max-drop"), help: "With --quantize int8, --data and --labels: keep layers in float32, most helpful first, until the metric drops by at most this much.")
    var maxDrop: Double?

    @Option(help: "Labelled data for --max-drop: a .npy array of preprocessed samples or an image folder (with --preprocess).")
    var data: String?

    @Option(help: "Labels for --max-drop: .npy (N, classes) or a CSV (image column, one column per class).")
    var labels: String?

    @Option(help: "The metric --max-drop watches: auroc, accuracy, or auto.")
    var metric: MetricChoice = .auto

    @Option(help: "Store weights as float32 ('none'), float16, int8 with float activations ('dynamic'), or int8 throughout ('int8').")
    var quantize: QuantizationMode = .none

    @Option(help: "Calibration samples for --quantize int8: a .npy array (N, H, W, C) of preprocessed float32 inputs, or a folder of PNG/JPEG/DICOM images (with --preprocess).")
    var calibration: String?

    @Option(help: "How images in a --calibration folder are preprocessed, as in keras.applications: torch, tf, caffe or none.")
    var preprocess: Preprocessing?

    @Option(name: .customLong("calibration-samples"), help: "Use at most this many calibration samples (default: all).")
    var calibrationSamples: Int?

    @Option(help: "Element type of an int8 model's input and output: float32 (QUANTIZE/DEQUANTIZE inside the model), int8 or uint8.")
    var io: IOType = .float32

    @Option(name: .customLong("keep-float"), help: "Layers (Keras names, comma separated) that stay float32 in an int8 model.")
    var keepFloat: String?

    @Option(help: "Zero this fraction (0..1) of the smallest-magnitude conv, depthwise and dense weights.")
    var prune: Double?

    @Option(name: .customLong("prune-scope"), help: "Rank weights per 'layer' or across all layers ('global').")
    var pruneScope: PruningScope = .layer

    @Flag(name: .customLong("prune-ends"), help: "Also prune the first convolution and the classifier head.")
    var pruneEnds = false

    @Option(name: .customLong("prune-recovery"), help: ArgumentHelp(
        "How --prune wins back accuracy from the --calibration data: refit (the weights pruning keeps are refitted by least squares to the dense layers' outputs), batchnorm (BatchNorm statistics re-measured) or none.",
        valueName: "refit|batchnorm|none"))
    var pruneRecovery: PruningRecovery = .refit

    @Flag(help: "Run the original model and the written file with the bundled interpreter and compare them.")
    var verify = false

    @Option(name: .customLong("verify-data"), help: "Inputs for --verify (.npy, batch first); default: 8 seeded random samples.")
    var verifyData: String?

    @Option(help: "With --verify: fail if the largest absolute difference exceeds this (default 1e-4 for float32, 1e-2 for float16; none for int8 modes or --prune).")
    var tolerance: Double?

    func validate() throws {
        if quantize == .int8 && calibration == nil {
            throw ValidationError("--quantize int8 needs --calibration X.npy: preprocessed samples shaped (N, H, W, C)")
        }
        if quantize != .int8 && (io != .float32 || keepFloat != nil || maxDrop != nil) {
            throw ValidationError("--io, --keep-float and --max-drop apply to --quantize int8")
        }
        if maxDrop != nil && (data == nil || labels == nil) {
            throw ValidationError("--max-drop needs --data and --labels to measure the metric")
        }
        if let prune, !(0..<1).contains(prune) {
            throw ValidationError("--prune takes a fraction in [0, 1), e.g. 0.5")
        }
    }

    func run() throws {
        let start = Date()
        let keras = try loadKerasFileIsolated(model)
        let imported = try importKeras(keras)
        let dumpNames = try selectedDumps()
        if !dumpNames.isEmpty {
            try FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true)
            try writeDump(imported, name: "00-import")
        }
        var options = PipelineOptions(pruning: prune.map { PruningOptions(sparsity: $0, scope: pruneScope, includeEnds: pruneEnds,
                                                                                    recovery: pruneRecovery) },
                                      quantization: quantize,
                                      calibration: try calibration.map {
                                          try loadSamples($0, inputShape: Array(imported[imported.inputs[0]].shape.dropFirst()),
                                                          preprocessing: preprocess, limit: calibrationSamples, label: "calibration images")
                                      },
                                      keepFloat: Set((keepFloat ?? "").split(separator: ",").map(String.init)), io: io.dtype)
        if prune != nil && calibration == nil {
            FileHandle.standardError.write(Data(("warning: pruning without retraining lowers accuracy; give --calibration "
                + "(representative inputs, .npy or an image folder) so the weights pruning keeps are refitted to win it back\n").utf8))
        }
        options.biasCorrection = biasCorrection
        if let maxDrop {
            options.keepFloat = try accuracyAwareKeepFloat(imported: imported, options: options, maxDrop: maxDrop)
        }
        let context = PassContext(options: options, progress: passProgress())
        let optimized: Graph
        do {
            optimized = try runPipeline(imported, context: context) { index, pass, graph in
                if printAfterAll {
                    FileHandle.standardError.write(Data("// after \(pass.name)\n\(printGraph(graph))".utf8))
                }
                if dumpNames.contains(pass.name) {
                    try writeDump(graph, name: String(format: "%02d-%@", index + 1, pass.name))
                }
            }
        } catch let failure as PassFailure {
            try? FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true)
            try? writeDump(failure.lastGood, name: "failed-before-\(failure.pass)")
            throw CommandError("\(model): \(failure.description) (last good IR in \(dumpDirectory))")
        }
        let bytes = try writeTFLite(optimized)
        // Verification comes before the file lands, so a failed check leaves no output behind.
        if verify {
            let inputShape = Array(imported[imported.inputs[0]].shape.dropFirst())
            let samples = try verifyData.map { try readNPY(path: $0) } ?? seededNormalSamples(shape: inputShape, count: 8)
            try verifyConversion(original: imported, written: bytes, samples: samples)
            try verifyWithoutRecovery(original: imported, options: options, samples: samples)
            if quantize == .dynamic || quantize == .int8 {
                let errors = try layerErrors(float: try floatReference(imported, options: options), quantized: optimized,
                                             samples: samples)
                print("per-layer error against float32 (worst \(min(errors.count, 10)) of \(errors.count)):")
                print(layerErrorTable(errors), terminator: "")
            }
        }
        try writeAtomically(bytes, to: output)
        let seconds = Date().timeIntervalSince(start)
        context.report.forEach { print($0) }
        print("\(output): \(optimized.ops.count) ops, \(optimized.parameterCount) parameters, "
              + "\(bytes.count) bytes (\(keras.format.rawValue), Keras \(keras.kerasVersion)) in \(String(format: "%.2f", seconds)) s")
        if prune != nil {
            let zeros = optimized.values.reduce(0) { total, value in
                total + (value.constant?.floats?.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } ?? 0)
            }
            print("sparsity \(zeros)/\(optimized.parameterCount) parameters zero; gzip size \(try gzipSize(bytes)) bytes")
        }
    }

    /// Runs the graph exactly as the Keras file defines it (before any pass) and the file
    /// just written, on the same inputs, and reports how far apart they are.
    private func verifyConversion(original: Graph, written: [UInt8], samples: Tensor) throws {
        let result = try compareOutputs(original, { try readTFLite(bytes: written, name: output) }, samples)
        print("verify: " + describe(result))
        let limit = tolerance ?? defaultTolerance
        if let limit, result.maxAbsoluteError > limit {
            throw CommandError("\(output): --verify: max abs error \(result.maxAbsoluteError) exceeds the tolerance \(limit)")
        }
    }

    /// With a pruning recovery, the same comparison for the pruned weights as they are, so the
    /// report shows what the recovery won back.
    private func verifyWithoutRecovery(original: Graph, options: PipelineOptions, samples: Tensor) throws {
        guard options.calibration != nil, let pruning = options.pruning, pruning.recovery != .none else { return }
        var unrecovered = options
        unrecovered.pruning?.recovery = .none
        let result = try compareOutputs(original, { try runPipeline(original, context: PassContext(options: unrecovered)) }, samples)
        print("verify: without --prune-recovery \(pruning.recovery.rawValue): " + describe(result))
    }

    private func compareOutputs(_ original: Graph, _ candidate: () throws -> Graph, _ samples: Tensor) throws -> OutputComparison {
        do {
            let expected = try Interpreter(graph: original).run([samples])[0]
            let actual = try Interpreter(graph: try candidate()).run([samples])[0]
            return OutputComparison(reference: expected.data, candidate: actual.data, samples: samples.shape[0])
        } catch {
            throw CommandError("\(model): --verify: \(error)")
        }
    }

    private func describe(_ result: OutputComparison) -> String {
        String(format: "%d samples, max abs error %.3g, mean abs error %.3g, cosine similarity %.8f, top-1 agreement %.1f%%",
               result.samples, result.maxAbsoluteError, result.meanAbsoluteError, result.cosineSimilarity,
               result.top1Agreement * 100)
    }

    /// Float modes must match closely; lossy modes (pruning, int8 weights) only report unless asked.
    private var defaultTolerance: Double? {
        guard prune == nil else { return nil }
        switch quantize {
        case .none: return 1e-4
        case .float16: return 1e-2
        case .dynamic, .int8: return nil
        }
    }

    private func selectedDumps() throws -> Set<String> {
        let names = Set(dumpAfter.flatMap { $0.split(separator: ",").map(String.init) })
        if names.contains("all") { return Set(passRegistry.map(\.name)) }
        for name in names where pass(named: name) == nil {
            throw ValidationError("--dump-after: no pass named '\(name)' (see `h5tolite passes`)")
        }
        return names
    }

    /// `NN-pass.txt` (text IR) and `NN-pass.dot`, plus `NN-pass.svg` when Graphviz's `dot` is installed.
    private func writeDump(_ graph: Graph, name: String) throws {
        let base = (dumpDirectory as NSString).appendingPathComponent(name)
        try writeAtomically(Array(printGraph(graph).utf8), to: base + ".txt")
        try writeAtomically(Array(dotGraph(graph).utf8), to: base + ".dot")
        renderSVG(dot: base + ".dot", svg: base + ".svg")
    }
}

struct Passes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the optimization passes in pipeline order.")

    func run() {
        let width = passRegistry.map(\.name.count).max() ?? 0
        for pass in passRegistry {
            print(pass.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + pass.summary)
        }
    }
}

/// A progress bar on the terminal for each long pass (the pruning refit), finished when done.
func passProgress() -> (String, Int, Int) -> Void {
    { label, done, total in
        let bar = ProgressBar(label: label)
        bar.update(done, total)
        if done == total { bar.finish() }
    }
}
