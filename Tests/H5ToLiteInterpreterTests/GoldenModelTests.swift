import Foundation
import H5ToLiteIR
import H5ToLiteTFLite
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// TensorFlow-converted files read into the IR and run by the interpreter.
@Suite struct GoldenModelTests {
    @Test func everyGoldenModelMatchesKeras() throws {
        let models = try goldenModels()
        try #require(!models.isEmpty, "no golden models under \(repositoryRoot.path)/golden/models")
        for folder in models {
            let graph = try readTFLite(path: folder.appendingPathComponent("tf.tflite").path)
            let input = try readNPY(path: folder.appendingPathComponent("input.npy").path)
            // Keras 3's outputs, or tf_keras's for models only tf_keras can build.
            let keras3 = folder.appendingPathComponent("output_keras3.npy")
            let expected = try readNPY(path: FileManager.default.fileExists(atPath: keras3.path)
                ? keras3.path : folder.appendingPathComponent("output_tfkeras.npy").path)
            let output = try Interpreter(graph: graph).run([input])[0]
            #expect(output.shape == expected.shape, "\(folder.lastPathComponent)")
            #expect(largestError(output.data, expected.data) <= 1e-5, "\(folder.lastPathComponent)")
        }
    }

    @Test func float16WeightsAreDequantizedWhenRead() throws {
        let graph = try readTFLite(path: fixtures.appendingPathComponent("float16/model.tflite").path)
        #expect(graph.values.allSatisfy { $0.dtype == .float32 })
        let input = try readNPY(path: fixtures.appendingPathComponent("float16/input.npy").path)
        let expected = try readNPY(path: fixtures.appendingPathComponent("float16/litert.npy").path)
        let output = try Interpreter(graph: graph).run([input])[0]
        #expect(largestError(output.data, expected.data) <= 1e-5)
    }

    @Test func tensorFlowPatternsReadAsSingleOps() throws {
        let conv = printGraph(try readTFLite(path: repositoryRoot.appendingPathComponent("golden/models/layers_conv/tf.tflite").path))
        // SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND is a dilated convolution.
        #expect(conv.contains("dilation=2x2"))
        // Shape arithmetic (SHAPE, GATHER, REDUCE_PROD, PACK) folds into the reshapes' attributes.
        #expect(conv.contains("reshape(") && !conv.contains("i32["))
        let shape = printGraph(try readTFLite(path: repositoryRoot.appendingPathComponent("golden/models/layers_shape/tf.tflite").path))
        #expect(shape.contains("resize_bilinear(") && shape.contains("half_pixel_centers=true"))
        let activation = printGraph(try readTFLite(path: repositoryRoot.appendingPathComponent("golden/models/layers_activation/tf.tflite").path))
        #expect(activation.contains("greater(") && activation.contains("select("))
    }

    /// A batch spreads over workers, each with an arena of its own: every sample gets the bits
    /// it gets alone, in float, int8 and hybrid files.
    @Test func batchOnWorkersMatchesOneSampleAtATime() throws {
        let folder = repositoryRoot.appendingPathComponent("golden/models/mini_densenet")
        let input = try readNPY(path: folder.appendingPathComponent("calibration.npy").path)
        let count = 5
        let batch = Tensor(shape: [count] + input.shape.dropFirst(), data: Array(input.data.prefix(count * input.shape.dropFirst().reduce(1, *))))
        for file in ["tf.tflite", "tf_int8.tflite", "tf_dynamic.tflite"] {
            let interpreter = try Interpreter(graph: try readTFLite(path: folder.appendingPathComponent(file).path), threads: 2)
            let together = try interpreter.run([batch])[0]
            let size = batch.data.count / count
            let alone = try (0..<count).flatMap { sample in
                try interpreter.run([Tensor(shape: [1] + batch.shape.dropFirst(), data: Array(batch.data[(sample * size)..<((sample + 1) * size)]))])[0].data
            }
            #expect(together.shape == [count, 3], "\(file)")
            #expect(together.data == alone, "\(file)")
        }
    }

    @Test func batchOfOneIsTheGraphsBatch() throws {
        let graph = try readTFLite(path: repositoryRoot.appendingPathComponent("golden/models/mini_densenet/tf.tflite").path)
        #expect(graph[graph.inputs[0]].shape == [1, 32, 32, 3])
        #expect(graph[graph.outputs[0]].shape == [1, 3])
    }
}
