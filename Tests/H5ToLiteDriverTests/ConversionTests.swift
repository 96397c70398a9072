import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteInterpreter
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite
@testable import H5ToLiteDriver

@Suite struct ConversionTests {
    /// The library's conversion gives the file the tool writes: LiteRT-compatible bytes whose
    /// outputs match Keras's own.
    @Test func float32ConversionMatchesKeras() throws {
        let result = try convert(try goldenModel("chexnet_nested"), file: "chexnet_nested",
                                 request: ConversionRequest(options: PipelineOptions()))
        let bytes = try #require(result.bytes)
        let outputs = try Interpreter(graph: try readTFLite(bytes: bytes, name: "written")).run([try goldenArray("chexnet_nested", "input.npy")])
        #expect(largestDifference(outputs[0].data, try goldenArray("chexnet_nested", "output_keras3.npy").data) <= 1e-5)
        #expect(!result.optimized.ops.contains { $0.kind.name == "batch_norm" })
    }

    @Test func stopAfterReturnsTheGraphThereAndNoFile() throws {
        let request = ConversionRequest(options: PipelineOptions(), stopAfter: "lower-batchnorm")
        let result = try convert(try goldenModel("mini_densenet"), file: "mini_densenet", request: request)
        #expect(result.bytes == nil)
        #expect(result.optimized.ops.contains { $0.kind.name == "mul" })
        #expect(!result.optimized.ops.contains { $0.kind.name == "batch_norm" })
    }

    @Test func stopAfterAPassThePipelineDoesNotRunIsRefused() throws {
        let request = ConversionRequest(options: PipelineOptions(), stopAfter: "calibrate")
        #expect(throws: H5ToLiteError.self) {
            try convert(try goldenModel("mini_densenet"), file: "mini_densenet", request: request)
        }
    }

    @Test func calibrationSamplesAreLoadedForTheModelsInput() throws {
        let request = ConversionRequest(options: PipelineOptions(quantization: .int8),
                                        calibration: SampleFile(paths: [goldenPath("models/mini_densenet/calibration.npy")], limit: 3))
        let result = try convert(try goldenModel("mini_densenet"), file: "mini_densenet", request: request)
        #expect(result.options.calibration?.map(\.shape) == [[3, 32, 32, 3]])
        #expect(result.report.contains { $0.hasPrefix("calibrate: 3 samples") })
        #expect(result.optimized.values.contains { $0.dtype == .int8 })
    }

    @Test func dumpsAfterEachPassAndTheLastGoodGraphOnFailure() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-dumps-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var printed: [String] = []
        let instrumentation = try Instrumentation(directory: folder, dumpAfter: ["fold-batchnorm"], printAfterChange: true,
                                                  print: { printed.append($0) })
        _ = try convert(try goldenModel("mini_densenet"), file: "mini_densenet",
                        request: ConversionRequest(options: PipelineOptions()), instrumentation: instrumentation)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files.contains("00-import.txt") && files.contains("04-fold-batchnorm.txt"))
        #expect(printed.contains { $0.hasPrefix("// after lower-batchnorm") })
        #expect(!printed.contains { $0.hasPrefix("// after constant-folding") })
        #expect(throws: H5ToLiteError.self) { try Instrumentation(directory: folder, dumpAfter: ["no-such-pass"], print: { _ in }) }
    }
}

@Suite struct TextOptimizationTests {
    @Test func optReproducesAGoldenCaseAndNamesTheFileOnError() throws {
        let input = try String(contentsOfFile: goldenPath("passes/fold-batchnorm/conv.ir"), encoding: .utf8)
        let expected = try String(contentsOfFile: goldenPath("passes/fold-batchnorm/conv.expected.ir"), encoding: .utf8)
        #expect(try optimizeText(input, passes: ["fold-batchnorm"], file: "conv.ir") == expected)
        #expect(throws: H5ToLiteError.self) { try optimizeText(input, passes: ["fold-everything"], file: "conv.ir") }
        do {
            _ = try optimizeText("graph {", passes: ["fold-batchnorm"], file: "broken.ir")
        } catch {
            #expect("\(error)".hasPrefix("broken.ir: "))
        }
    }
}

@Suite struct ModelFileTests {
    /// A .tflite file and the Keras file it came from describe the same inputs and outputs.
    @Test func tfliteAndKerasFilesAreDescribed() throws {
        let tflite = try ModelFile(path: goldenPath("models/mini_densenet/tf.tflite"), readKeras: loadKerasModel)
        let keras = try ModelFile(path: goldenPath("models/mini_densenet/keras3.h5"), readKeras: loadKerasModel)
        #expect(tflite.summary != nil && keras.summary == nil)
        #expect(keras.header.format == "Keras 3 legacy .h5")
        #expect(tflite.graph.sampleShapes == keras.graph.sampleShapes)
        #expect(tflite.graph[tflite.graph.outputs[0]].shape.last == keras.graph[keras.graph.outputs[0]].shape.last)
        #expect(throws: H5ToLiteError.self) { try ModelFile(path: goldenPath("models/mini_densenet/input.npy.tflite"), readKeras: loadKerasModel) }
    }
}

@Suite struct ModelRunTests {
    /// `run` with --dump-values writes every value and still returns the outputs, raw too.
    @Test func runDumpsEveryValueAndReturnsTheOutputs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let input = try goldenArray("mini_densenet", "input.npy")
        let model = goldenPath("models/mini_densenet/tf.tflite")
        let plain = try runTFLite(model: model, samples: input, threads: 1)
        let dumped = try runTFLite(model: model, samples: input, threads: 1, raw: true, dumpValues: folder)
        #expect(plain == dumped)
        #expect(largestDifference(plain.data, try goldenArray("mini_densenet", "output_keras3.npy").data) <= 1e-5)
        let index = try String(contentsOfFile: "\(folder)/values.tsv", encoding: .utf8).split(separator: "\n")
        #expect(index.count > 10)
        let single = try runTFLite(model: model, samples: Tensor(shape: [32, 32, 3], data: Array(input.data.prefix(32 * 32 * 3))), threads: 1)
        #expect(single.shape.first == 1)
    }
}
