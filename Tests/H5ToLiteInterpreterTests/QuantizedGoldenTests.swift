import Foundation
import H5ToLiteIR
import H5ToLiteTFLite
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// TensorFlow's quantized files of the golden models (tf_float16, tf_dynamic,
/// tf_int8, tf_int8_io, where present) against LiteRT's outputs on input.npy
/// (litert_<variant>.npy) and against TFLite's reference kernels.
@Suite struct QuantizedGoldenTests {
    /// Golden model folders holding `tf_<variant>.tflite` and `litert_<variant>.npy`.
    private func variants(_ variant: String) throws -> [URL] {
        try goldenModels().filter { folder in
            ["tf_\(variant).tflite", "litert_\(variant).npy"].allSatisfy {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            }
        }
    }

    private func run(_ folder: URL, _ variant: String, outputs form: Interpreter.OutputValues = .dequantized) throws -> (Graph, Tensor) {
        let graph = try readTFLite(path: folder.appendingPathComponent("tf_\(variant).tflite").path)
        let input = try readNPY(path: folder.appendingPathComponent("input.npy").path)
        return (graph, try Interpreter(graph: graph).run([input], outputs: form)[0])
    }

    @Test func float16AndDynamicFilesMatchLiteRT() throws {
        for variant in ["float16", "dynamic"] {
            // TensorFlow's dynamic U-Net has a hybrid TRANSPOSE_CONV, which the interpreter refuses
            // (README, Quantization); Tests/e2e/test_interpreter.py checks the refusal.
            for folder in try variants(variant) where !(variant == "dynamic" && folder.lastPathComponent == "unet") {
                let expected = try readNPY(path: folder.appendingPathComponent("litert_\(variant).npy").path)
                let (_, output) = try run(folder, variant)
                #expect(output.shape == expected.shape)
                #expect(largestError(output.data, expected.data) <= 1e-4, "\(folder.lastPathComponent) \(variant)")
            }
        }
    }

    /// LiteRT runs int8 models through XNNPACK, which requantizes in float and
    /// rounds halves to even where TFLite's reference arithmetic (which the
    /// interpreter follows) uses fixed-point multipliers and rounds halves
    /// away from zero. Single ops differ by at most one step at rare ties; the
    /// differences add up through a network (two steps on the untrained golden
    /// models, twenty on the trained CheXNet, whose ranges are tight). So the
    /// interpreter must stay within two steps of LiteRT, or no further from it
    /// than TFLite's own reference kernels are.
    @Test func int8FilesStayAsCloseToLiteRTAsTFLitesReferenceKernels() throws {
        for variant in ["int8", "int8_io"] {
            for folder in try variants(variant) {
                let expected = try readNPY(path: folder.appendingPathComponent("litert_\(variant).npy").path)
                // litert_int8_io.npy holds the raw int8 output; litert_int8.npy dequantized floats.
                let (graph, output) = try run(folder, variant, outputs: variant == "int8_io" ? .raw : .dequantized)
                let step = variant == "int8_io" ? 1 : outputStep(graph)
                let reference = fixtures.appendingPathComponent("reference_kernels/\(folder.lastPathComponent)_\(variant).npy")
                let allowed = try FileManager.default.fileExists(atPath: reference.path)
                    ? max(2, steps(try readNPY(path: reference.path).data, expected.data, step: step)) : 2
                let found = steps(output.data, expected.data, step: step)
                #expect(found <= allowed + 0.01, "\(folder.lastPathComponent) \(variant): \(found) steps")
            }
        }
    }

    /// The outputs of LiteRT's reference op resolver (TFLite's reference
    /// kernels), stored by Fixtures/reference_kernels/generate.py.
    @Test func int8FilesMatchTFLiteReferenceKernelsExactly() throws {
        let folder = fixtures.appendingPathComponent("reference_kernels")
        let sources = try String(contentsOf: folder.appendingPathComponent("sources.tsv"), encoding: .utf8)
        for line in sources.split(separator: "\n") {
            // Fields: fixture name (model_variant), file size, FNV-1a hash of the file.
            let fields = line.split(separator: "\t").map(String.init)
            let key = fields[0]
            let model = modelPath(for: key)
            guard let bytes = FileManager.default.contents(atPath: model.path) else { continue }
            try #require(bytes.count == Int(fields[1]) && String(format: "%016llx", fnv1a(bytes)) == fields[2],
                         "\(model.path) changed since the reference outputs were made: run \(folder.path)/generate.py")
            let graph = try readTFLite(path: model.path)
            let input = try readNPY(path: model.deletingLastPathComponent().appendingPathComponent("input.npy").path)
            let output = try Interpreter(graph: graph).run([input], outputs: key.hasSuffix("_io") ? .raw : .dequantized)[0]
            let expected = try readNPY(path: folder.appendingPathComponent("\(key).npy").path)
            #expect(output.data == expected.data, "\(key)")
        }
    }

    @Test func readsQuantizationParameters() throws {
        let path = repositoryRoot.appendingPathComponent("golden/models/mini_densenet/tf_int8.tflite").path
        guard FileManager.default.fileExists(atPath: path) else { return }
        let graph = try readTFLite(path: path)
        #expect(graph[graph.inputs[0]].dtype == .float32)
        #expect(graph.ops.first?.kind == .quantize && graph.ops.last?.kind == .dequantize)
        let convolutions = graph.ops.filter { if case .conv2d = $0.kind { return true } else { return false } }
        let filter = graph[convolutions[0].inputs[1]], bias = graph[convolutions[0].inputs[2]]
        #expect(filter.dtype == .int8 && filter.quantization?.scales.count == filter.shape[0] && filter.quantization?.axis == 0)
        #expect(bias.dtype == .int32 && bias.constant?.dtype == .int32)
        // Every activation between QUANTIZE and DEQUANTIZE is int8 with one scale.
        for op in graph.ops.dropLast() {
            #expect(graph[op.outputs[0]].dtype == .int8 && graph[op.outputs[0]].quantization?.scales.count == 1)
        }
    }

    /// golden/models/NAME/tf_int8[_io].tflite for the fixture NAME_int8[_io].
    private func modelPath(for key: String) -> URL {
        let io = key.hasSuffix("_int8_io")
        let name = String(key.dropLast(io ? 8 : 5))
        return repositoryRoot.appendingPathComponent("golden/models/\(name)/tf_\(io ? "int8_io" : "int8").tflite")
    }
}

/// The largest difference between two outputs, in steps of `step`.
private func steps(_ a: [Float], _ b: [Float], step: Float) -> Float {
    zip(a, b).map { abs($0 - $1) / step }.max() ?? 0
}

/// The quantization step of a float output computed by DEQUANTIZE.
private func outputStep(_ graph: Graph) -> Float {
    let producers = graph.producers()
    guard let producer = producers[graph.outputs[0]], graph.ops[producer].kind == .dequantize,
          let scale = graph[graph.ops[producer].inputs[0]].quantization?.scales.first else { return 1.0 / 256 }
    return scale
}

/// FNV-1a, 64 bits: the fixtures' record of which model file they came from.
func fnv1a(_ bytes: Data) -> UInt64 {
    bytes.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
}
