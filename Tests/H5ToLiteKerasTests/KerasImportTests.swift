import Foundation
import Testing
import H5ToLiteIR
@testable import H5ToLiteKeras

/// The repository's golden folder, found from this file's location.
let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("golden")

func goldenModel(_ name: String, _ file: String) -> String {
    golden.appendingPathComponent("models/\(name)/\(file)").path
}

@Suite struct KerasImportTests {
    @Test(arguments: ["mini_densenet", "chexnet_nested", "chexnet_frozen", "mini_inception", "mini_mobilenetv2",
                      "layers_conv", "layers_activation", "layers_shape", "layers_merge",
                      "mini_mobilenetv3", "mini_efficientnet", "layers_preprocessing", "layers_operations"])
    func threeFormatsGiveOneGraph(model: String) throws {
        // Weight order differs between the formats (legacy nested groups list trainable
        // weights first; .keras names layers by class): equal graphs mean every weight
        // landed on its layer.
        let graphs = try ["tfkeras.h5", "keras3.h5", "model.keras"].map { file in
            try importKeras(try loadKerasModel(path: goldenModel(model, file)))
        }
        let texts = graphs.map { printGraph($0) }
        #expect(texts[1] == texts[2])
        // tf.keras 2 lowers a few activations differently (hard_sigmoid), so compare its
        // weights, not its scalar constants.
        let weights = graphs.map { $0.values.compactMap(\.constant).filter { $0.count > 1 } }
        #expect(weights[0] == weights[1])
    }

    @Test func formatsAreRecognised() throws {
        #expect(try loadKerasModel(path: goldenModel("chexnet_nested", "tfkeras.h5")).format == .tfKerasH5)
        #expect(try loadKerasModel(path: goldenModel("chexnet_nested", "keras3.h5")).format == .keras3H5)
        #expect(try loadKerasModel(path: goldenModel("chexnet_nested", "model.keras")).format == .kerasArchive)
    }

    @Test func nestedSequentialKeepsItsHead() throws {
        let graph = try importKeras(try loadKerasModel(path: goldenModel("chexnet_nested", "keras3.h5")))
        #expect(graph.inputs.count == 1 && graph.outputs.count == 1)
        #expect(graph[graph.outputs[0]].shape == [1, 14])
        #expect(graph.ops.last.map { $0.kind } == .unary(.logistic))
    }

    /// Names as they appear in real `.keras` archives written by Keras 3.
    @Test func snakeCaseMatchesKeras() {
        #expect(snakeCase("Conv2D") == "conv2d")
        #expect(snakeCase("BatchNormalization") == "batch_normalization")
        #expect(snakeCase("GlobalAveragePooling2D") == "global_average_pooling2d")
        #expect(snakeCase("InputLayer") == "input_layer")
        #expect(snakeCase("ReLU") == "re_lu")
        #expect(snakeCase("PReLU") == "p_re_lu")
        #expect(snakeCase("LeakyReLU") == "leaky_re_lu")
    }
}

@Suite struct BadInputTests {
    func message(_ path: String) -> String {
        do {
            _ = try importKeras(try loadKerasModel(path: path))
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func lambdaIsRefusedByName() {
        for file in ["lambda_tfkeras.h5", "lambda_keras3.h5", "lambda.keras"] {
            let path = golden.appendingPathComponent("bad/\(file)").path
            let text = message(path)
            #expect(text.hasPrefix(path))
            #expect(text.contains("layer 'lambda' (Lambda)"))
        }
    }

    @Test func customLayerNamesItselfAsCustom() {
        for file in ["custom_layer.keras", "custom_layer_keras3.h5"] {
            let text = message(golden.appendingPathComponent("bad/\(file)").path)
            #expect(text.contains("custom layer class 'MyCustomScale' (registered as 'h5tolite>MyCustomScale')"), "\(text)")
            #expect(!text.contains("\n"))
        }
    }

    @Test func weightsOnlyFileIsExplained() {
        #expect(message(golden.appendingPathComponent("bad/weights_only_tfkeras.h5").path).contains("no model_config"))
    }

    @Test func wrongWeightShapeNamesLayerAndShapes() {
        let text = message(golden.appendingPathComponent("bad/shape_mismatch_tfkeras.h5").path)
        #expect(text.contains("layer 'conv' (Conv2D)"))
        #expect(text.contains("[3, 3, 3, 5]"))
    }

    @Test func notHDF5() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-test-\(UUID()).h5").path
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(message(path) == "\(path): not an HDF5 file")
    }
}

@Suite struct PruningWrapperTests {
    /// A tfmot model saved without strip_pruning: the wrappers vanish and the masks hold.
    @Test func tfmotWrappersAreUnwrapped() throws {
        let graph = try importKeras(try loadKerasModel(path: goldenModel("pruned_tfmot", "tfkeras.h5")))
        #expect(!graph.values.contains { $0.name.hasPrefix("prune_low_magnitude") })
        let kernel = try #require(graph.values.first { $0.name == "conv1/kernel" }?.constant?.floats)
        // golden/models/pruned_tfmot/info.json: conv1's mask zeroes 108 of its 216 weights.
        #expect(kernel.count == 216)
        #expect(kernel.filter { $0 == 0 }.count == 108)
    }
}
