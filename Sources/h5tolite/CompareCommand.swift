import ArgumentParser
import Foundation
import H5ToLiteData
import H5ToLiteDriver
import H5ToLiteKeras

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The original work's result table: every variant's size, accuracy or AUROC, and speed.",
        discussion: """
        Converts MODEL into each variant, runs every variant on the labelled data with the \
        bundled interpreter, and writes results.md, results.json and chart.svg to --out. \
        Variants: float32, float16, dynamic, int8, prune:S (magnitude pruning to sparsity S, \
        the kept weights refitted on the calibration data), prune:S:batchnorm (BatchNorm \
        statistics re-measured instead), prune:S:raw (neither), channels:F (channel pruning \
        removing a fraction F of the multiply-adds, recovered the same ways: channels:F:batchnorm, \
        channels:F:raw), \
        and combinations such as prune:0.5+int8, int8+bias-correction or int8+int8-head (the \
        final sigmoid/softmax in int8, as TensorFlow writes it).
        """)

    @Argument(help: "The Keras model (.h5 or .keras).")
    var model: String

    @Option(help: "Evaluation inputs: a .npy array (N, H, W, C) of preprocessed samples (several inputs: A.npy,B.npy in the model's input order), or a folder of PNG/JPEG/DICOM images named by the labels CSV (with --preprocess).")
    var data: String

    @Option(help: "How images in a --data or --calibration folder are preprocessed: torch, tf, caffe or none.")
    var preprocess: Preprocessing?

    @Option(help: "Labels: a .npy array (N, classes) one-hot or multi-hot, or a CSV (image column, one column per class).")
    var labels: String

    @Option(name: .customLong("labelled-output"), help: "With several model outputs: the output (by name) the labels score; default: the first. Every output also gets a column of its error against the original.")
    var labelledOutput: String?

    @Option(help: "auroc (mean over classes, multi-label models), accuracy, or auto (auroc when a sample can have several labels).")
    var metric: MetricChoice = .auto

    @Option(help: "Comma-separated variants.")
    var variants: String = "float32,float16,dynamic,int8,prune:0.5,prune:0.5+int8"

    @Option(help: "Calibration samples (.npy, one per model input like --data, or an image folder) for int8 and pruned variants; default: the first 100 evaluation samples.")
    var calibration: String?

    @Option(help: "Folder for the variants' .tflite files and the results.")
    var out: String = "h5tolite-compare"

    func run() throws {
        let keras = try loadKerasFileIsolated(model)
        let original = try importKeras(keras)
        let labelled = try LabelledData.load(data: SampleFile(list: data, preprocessing: preprocess), labels: labels, metric: metric,
                                             model: original, output: labelledOutput)
        let chosen = try variants.split(separator: ",").map { try Variant(String($0)) }
        let calibrationSamples = try calibration.map {
            try loadSamples(SampleFile(list: $0, preprocessing: preprocess), for: original.modelInputs, label: "calibration images")
        } ?? firstSamples(labelled.samples, count: 100)
        let originalSize = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
        let report = try compareVariants(model: model, imported: original, originalSize: originalSize, variants: chosen,
                                         data: labelled, calibration: calibrationSamples, folder: out, progress: passProgress())
        print(report.markdown, terminator: "")
    }
}

extension MetricChoice: ExpressibleByArgument {}
