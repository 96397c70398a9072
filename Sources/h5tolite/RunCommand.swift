import ArgumentParser
import Foundation
import H5ToLiteCore
import H5ToLiteDriver

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a .tflite model on .npy inputs with the bundled interpreter.",
        discussion: """
        The first axis of the input array is the batch. An array shaped like one model input \
        without its batch axis is run as a single sample. A model with several inputs takes one \
        array per input, comma-separated in the model's input order (`inspect` lists it): \
        --input image.npy,clinical.npy. A model with one output writes it to --output Y.npy; \
        with several, --output names a folder that receives one <output name>.npy per output \
        ('/' in a name becomes '_').

        Quantized models run too: float16 weights, dynamic-range (hybrid) and full int8 files, \
        with TFLite's integer arithmetic. Inputs are always real numbers: where the model takes \
        int8 or uint8 input, each value x is quantized as TFLite's QUANTIZE does, \
        round(x / scale) + zero_point (halves away from zero), clamped to the type. \
        Outputs are written as float32, int8 and uint8 outputs dequantized, \
        scale * (q - zero_point), unless --raw-output is given.

        With --image instead of --input and --output, a model with TFLite metadata (convert \
        --metadata) classifies one PNG, JPEG or DICOM image: resized to the input, scaled with \
        the embedded normalization, and the best classes printed with their labels.
        """)

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "Input samples (.npy; <f4, or <f8, <i4, |u1, |i1 converted to float32); several inputs: A.npy,B.npy in the model's input order.")
    var input: String?

    @Option(help: "Where to write the output (.npy, float32); with several outputs, a folder for <output name>.npy each.")
    var output: String?

    @Option(help: "Classify this image (PNG, JPEG, DICOM) with the model's metadata: its normalization and labels.")
    var image: String?

    @Option(help: "With --image: how many of the best classes to print.")
    var top = 5

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Flag(help: "Write int8 and uint8 outputs as their stored integers (still a float32 array) instead of dequantized.")
    var rawOutput = false

    @Option(help: "Also write every value the model computes, as float32 (8-bit values dequantized), to DIR/<index>.npy, with DIR/values.tsv naming them.")
    var dumpValues: String?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads must be at least 1")
        }
        if top < 1 {
            throw ValidationError("--top must be at least 1")
        }
        if (image == nil) == (input == nil) || (input == nil) != (output == nil) {
            throw ValidationError("give --input X.npy with --output Y.npy, or --image FILE")
        }
    }

    func run() throws {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        if let image {
            for score in try classifyImage(model: model, image: image, threads: threads).prefix(top) {
                print(String(format: "%.6f  ", score.score) + (score.label ?? "class \(score.index)"))
            }
            return
        }
        try runArrays(input: input!, output: output!, threads: threads)
    }

    private func runArrays(input: String, output: String, threads: Int) throws {
        let paths = SampleFile(list: input).paths
        let samples = try paths.map { try readNPY(path: $0) }
        let outputs: [(name: String, values: Tensor)]
        do {
            outputs = try runTFLite(model: model, inputs: samples, threads: threads,
                                    raw: rawOutput, dumpValues: dumpValues)
        } catch let error as H5ToLiteError where error.file != nil {
            throw error
        } catch {
            throw H5ToLiteError(file: input, "\(error)")
        }
        guard outputs.count > 1 else {
            try writeNPY(outputs[0].values, path: output)
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw H5ToLiteError(file: output, "cannot create the output folder: \(error.localizedDescription)")
        }
        for (name, values) in outputs {
            try writeNPY(values, path: "\(output)/\(name.replacingOccurrences(of: "/", with: "_")).npy")
        }
    }
}
