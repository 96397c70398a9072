import ArgumentParser
import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteDriver
import H5ToLiteEvaluation
import H5ToLiteIR
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

    @Flag(name: .customLong("print-after-change"), help: "Print the IR to stderr after every pass that changed it.")
    var printAfterChange = false

    @Option(name: .customLong("stop-after"), help: "Stop the pipeline after this pass and write its IR as text to -o (continue with `h5tolite opt`).")
    var stopAfter: String?

    @Flag(name: .customLong("bias-correction"), help: "With --quantize int8: fold each channel's mean shift (float vs int8 on the calibration data) into the biases.")
    var biasCorrection = false

    @Option(name: .customLong("max-drop"), help: "With --quantize int8, --data and --labels: keep layers in float32, most helpful first, until the metric drops by at most this much.")
    var maxDrop: Double?

    @Option(help: "Labelled data for --max-drop: a .npy array of preprocessed samples (several inputs: A.npy,B.npy in the model's input order) or an image folder (with --preprocess).")
    var data: String?

    @Option(help: "Labels for --max-drop: .npy (N, classes) or a CSV (image column, one column per class).")
    var labels: String?

    @Option(name: .customLong("labelled-output"), help: "With several model outputs: the output (by name) the --labels score; default: the first.")
    var labelledOutput: String?

    @Option(help: "The metric --max-drop watches: auroc, accuracy, or auto.")
    var metric: MetricChoice = .auto

    @Option(help: "Store weights as float32 ('none'), float16, int8 with float activations ('dynamic'), or int8 throughout ('int8').")
    var quantize: QuantizationMode = .none

    @Option(help: "Calibration samples for --quantize int8: a .npy array (N, H, W, C) of preprocessed float32 inputs (several inputs: A.npy,B.npy in the model's input order), or a folder of PNG/JPEG/DICOM images (with --preprocess).")
    var calibration: String?

    @Option(help: "How images in a --calibration folder are preprocessed, as in keras.applications: torch, tf, caffe or none.")
    var preprocess: Preprocessing?

    @Option(name: .customLong("calibration-method"), help: "How --quantize int8 picks ranges from the calibration data: minmax (smallest and largest value seen) or mse (each activation's clipped range of least squared error on its histogram).")
    var calibrationMethod: CalibrationMethod = .minmax

    @Option(name: .customLong("calibration-samples"), help: "Use at most this many calibration samples (default: all).")
    var calibrationSamples: Int?

    @Option(help: "Element type of an int8 model's input and output: float32 (QUANTIZE/DEQUANTIZE inside the model), int8 or uint8.")
    var io: IOType = .float32

    @Option(name: .customLong("keep-float"), help: "Layers (Keras names, comma separated) that stay float32 in an int8 model.")
    var keepFloat: String?

    @Option(help: "Zero this fraction (0..1) of the smallest-magnitude conv, depthwise and dense weights.")
    var prune: Double?

    @Option(name: .customLong("prune-channels"), help: "Remove whole channels (0..1: the fraction of multiply-adds to remove), chosen and recovered on the --calibration data; the file is an ordinary smaller, faster model.")
    var pruneChannels: Double?

    @Option(name: .customLong("prune-scope"), help: "Rank weights per 'layer' or across all layers ('global').")
    var pruneScope: PruningScope = .layer

    @Flag(name: .customLong("prune-ends"), help: "Also prune the first convolution and the classifier head.")
    var pruneEnds = false

    @Option(name: .customLong("prune-recovery"), help: ArgumentHelp(
        "How --prune and --prune-channels win back accuracy from the --calibration data: refit (the weights pruning keeps are refitted by least squares to the dense layers' outputs), batchnorm (BatchNorm statistics re-measured) or none.",
        valueName: "refit|batchnorm|none"))
    var pruneRecovery: PruningRecovery = .refit

    @Flag(help: "Write TFLite metadata (implied by --class-names and every --metadata-* option): image inputs with the --preprocess normalization, outputs described, class names as a label file.")
    var metadata = false

    @Flag(name: .customLong("normalization-in-model"), help: "With --metadata: put the --preprocess scaling into the model as its first ops, so it reads 0..255 pixels and the metadata says mean 0, std 1 (MediaPipe's ImageClassifier takes one mean and std for all channels, so torch models need this there).")
    var normalizationInModel = false

    @Option(name: .customLong("class-names"), help: "A text file naming the labelled output's classes, one per line, written into the metadata as its label file (default with --max-drop: the --labels CSV's header).")
    var classNames: String?

    @Option(name: .customLong("metadata-name"), help: "The model's name in the metadata (default: the Keras model's name).")
    var metadataName: String?

    @Option(name: .customLong("metadata-description"), help: "The model's description in the metadata (default: its source file and what each output means).")
    var metadataDescription: String?

    @Option(name: .customLong("metadata-version"), help: "The model's version in the metadata (default: none).")
    var metadataVersion: String?

    @Option(name: .customLong("metadata-author"), help: "The model's author in the metadata (default: none).")
    var metadataAuthor: String?

    @Option(name: .customLong("metadata-license"), help: "The model's license in the metadata (default: none).")
    var metadataLicense: String?

    @Flag(name: .customLong("sparse-weights"), help: "Store conv, depthwise and dense weights with at least 30% zeros (after --prune, say) in TFLite's sparse format, as TensorFlow's EXPERIMENTAL_SPARSITY does.")
    var sparseWeights = false

    @Flag(help: "Run the original model and the written file with the bundled interpreter and compare them.")
    var verify = false

    @Option(name: .customLong("verify-data"), help: "Inputs for --verify (.npy, batch first; several inputs: A.npy,B.npy in the model's input order); default: 8 seeded random samples per input.")
    var verifyData: String?

    @Option(help: "With --verify: fail if the largest absolute difference exceeds this (default 1e-4 for float32, 1e-2 for float16; none for int8 modes or --prune).")
    var tolerance: Double?

    func validate() throws {
        if quantize == .int8 && calibration == nil {
            throw ValidationError("--quantize int8 needs --calibration X.npy: preprocessed samples shaped (N, H, W, C), one array per model input")
        }
        if quantize != .int8 && (io != .float32 || keepFloat != nil || maxDrop != nil) {
            throw ValidationError("--io, --keep-float and --max-drop apply to --quantize int8")
        }
        if maxDrop != nil && (data == nil || labels == nil) {
            throw ValidationError("--max-drop needs --data and --labels to measure the metric")
        }
        if labelledOutput != nil && maxDrop == nil {
            throw ValidationError("--labelled-output applies to --max-drop")
        }
        if let prune, !(0..<1).contains(prune) {
            throw ValidationError("--prune takes a fraction in [0, 1), e.g. 0.5")
        }
        if let pruneChannels, !(0..<1).contains(pruneChannels) {
            throw ValidationError("--prune-channels takes a fraction of multiply-adds in [0, 1), e.g. 0.3")
        }
        if stopAfter != nil && verify {
            throw ValidationError("--stop-after writes IR, which --verify cannot run as a file; drop one of them")
        }
        if normalizationInModel && (verify || io != .float32) {
            throw ValidationError("--normalization-in-model makes the model read 0..255 pixels: it needs --io float32, and --verify, which feeds preprocessed samples, cannot check it")
        }
        if stopAfter != nil && writesMetadata {
            throw ValidationError("--stop-after writes IR, which carries no TFLite metadata; drop --metadata, --class-names and --metadata-*")
        }
    }

    func run() throws {
        let start = Date()
        if pruneChannels != nil && calibration == nil {
            // One line, not the usage text a validation error adds: nothing is wrong with the flags' spelling.
            throw H5ToLiteError(file: model, "--prune-channels needs --calibration (representative inputs, .npy or an image folder): "
                                + "the channels that go are chosen and refitted on them")
        }
        if prune != nil && calibration == nil {
            FileHandle.standardError.write(Data(("warning: pruning without retraining lowers accuracy; give --calibration "
                + "(representative inputs, .npy or an image folder) so the weights pruning keeps are refitted to win it back\n").utf8))
        }
        let keras = try loadKerasFileIsolated(model)
        let instrumentation = try Instrumentation(
            directory: dumpDirectory, dumpAfter: Set(dumpAfter.flatMap { $0.split(separator: ",").map(String.init) }),
            printAfterAll: printAfterAll, printAfterChange: printAfterChange, print: printToStandardError)
        let result = try convert(keras, file: model, request: try request(), instrumentation: instrumentation,
                                 log: { print($0) }, progress: passProgress())
        guard let bytes = result.bytes else {
            try writeAtomically(Array(printGraph(result.optimized, fullConstants: true).utf8), to: output)
            print("\(output): the IR after \(stopAfter ?? "")")
            return
        }
        // Verification comes before the file lands, so a failed check leaves no output behind.
        if verify {
            let samples = try verificationSamples(verifyData, model: result.imported, preprocessing: preprocess)
            let verification: VerificationReport
            do {
                verification = try verifyConversion(original: result.imported, optimized: result.optimized, written: bytes,
                                                    options: result.options, samples: samples)
            } catch {
                throw H5ToLiteError(file: model, "--verify: \(error)")
            }
            try report(verification, tolerance: tolerance ?? defaultTolerance(result.options))
        }
        try writeAtomically(bytes, to: output)
        let seconds = Date().timeIntervalSince(start)
        result.report.forEach { print($0) }
        print("\(output): \(result.optimized.ops.count) ops, \(result.optimized.parameterCount) parameters, "
              + "\(bytes.count) bytes (\(keras.format.rawValue), Keras \(keras.kerasVersion)) in \(String(format: "%.2f", seconds)) s")
        if let metadata = result.metadata {
            print(metadataLine(metadata))
        }
        if prune != nil {
            print("sparsity \(result.optimized.zeroParameterCount)/\(result.optimized.parameterCount) parameters zero; gzip size \(try gzipSize(bytes)) bytes")
        }
    }

    /// Metadata is written only when asked for, so files converted as before stay byte-identical.
    private var writesMetadata: Bool {
        metadata || normalizationInModel || classNames != nil
            || [metadataName, metadataDescription, metadataVersion, metadataAuthor, metadataLicense].contains { $0 != nil }
    }

    private func metadataRequest() throws -> MetadataRequest? {
        guard writesMetadata else { return nil }
        let names = try classNames.map(readClassNames) ?? (maxDrop != nil ? try labels.flatMap(H5ToLiteDriver.classNames(fromLabels:)) : nil)
        var request = MetadataRequest(name: metadataName, description: metadataDescription, version: metadataVersion, author: metadataAuthor,
                                      license: metadataLicense, classNames: names, preprocessing: preprocess, labelledOutput: labelledOutput)
        request.normalizationInModel = normalizationInModel
        return request
    }

    private func request() throws -> ConversionRequest {
        var options = PipelineOptions(pruning: prune.map { PruningOptions(sparsity: $0, scope: pruneScope, includeEnds: pruneEnds,
                                                                          recovery: pruneRecovery) },
                                      quantization: quantize,
                                      keepFloat: Set((keepFloat ?? "").split(separator: ",").map(String.init)), io: io.dtype)
        options.biasCorrection = biasCorrection
        options.calibrationMethod = calibrationMethod
        options.channelPruning = pruneChannels.map { ChannelPruningOptions(fraction: $0, recovery: pruneRecovery) }
        return ConversionRequest(
            options: options,
            calibration: calibration.map { SampleFile(list: $0, preprocessing: preprocess, limit: calibrationSamples) },
            maxDrop: maxDrop.map { MaxDrop(drop: $0, data: SampleFile(list: data!, preprocessing: preprocess), labels: labels!, metric: metric,
                                           labelledOutput: labelledOutput) },
            stopAfter: stopAfter, metadata: try metadataRequest(), sparseWeights: sparseWeights)
    }

    /// Prints the comparisons and fails if the written file is further from the original than `tolerance`.
    private func report(_ verification: VerificationReport, tolerance: Double?) throws {
        verification.conversion.summaries.forEach { print("verify: " + $0) }
        if let tolerance, let excess = verification.conversion.excess(over: tolerance) {
            throw H5ToLiteError(file: output, "--verify: " + excess)
        }
        for summary in verification.withoutRecovery?.summaries ?? [] {
            print("verify: without --prune-recovery \(pruneRecovery.rawValue): " + summary)
        }
        if let errors = verification.layers {
            print("per-layer error against float32 (worst \(min(errors.count, 10)) of \(errors.count)):")
            print(layerErrorTable(errors), terminator: "")
        }
    }
}

/// One line saying what the metadata holds.
func metadataLine(_ packed: PackedMetadata) -> String {
    let inputs = packed.metadata.inputs.compactMap { input -> String? in
        guard let normalization = input.normalization else { return nil }
        return "input '\(input.name)' mean \(normalization.mean) std \(normalization.std)"
    }
    let files = packed.files.map { "\($0.name) (\(String(decoding: $0.contents, as: UTF8.self).split(separator: "\n").count) lines)" }
    return "metadata: '\(packed.metadata.name)'" + (inputs + files).map { ", " + $0 }.joined()
}

/// A progress bar on the terminal for each long pass (the pruning refit), finished when done.
func passProgress() -> (String, Int, Int) -> Void {
    { label, done, total in
        let bar = ProgressBar(label: label)
        bar.update(done, total)
        if done == total { bar.finish() }
    }
}

func printToStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
