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
        let shape = original.sampleShape
        let labelled = try LabelledData.load(data: data, labels: labels, preprocessing: preprocess, metric: metric, inputShape: shape)
        let chosen = try variants.split(separator: ",").map { try Variant(String($0)) }
        let calibrationSamples = try calibration.map {
            try loadSamples($0, inputShape: shape, preprocessing: preprocess, label: "calibration images")
        } ?? firstSamples(labelled.samples, count: 100)
        let originalSize = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
        let report = try compareVariants(model: model, imported: original, originalSize: originalSize, variants: chosen,
                                         data: labelled, calibration: calibrationSamples, folder: out, progress: passProgress())
        print(report.markdown, terminator: "")
    }
}

extension MetricChoice: ExpressibleByArgument {}
