import Testing
import H5ToLiteIR
@testable import H5ToLiteKeras

/// A functional model from layer entries as Keras writes them, its input `x` shaped [None] + `shape`.
func configModel(_ layers: [String], output: String, shape: [Int] = [4, 4, 3], format: KerasFormat = .kerasArchive,
                 weights: [String: [WeightArray]] = [:]) throws -> KerasModel {
    let input = """
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [null, \(shape.map(String.init).joined(separator: ", "))], "dtype": "float32"}, "inbound_nodes": []}
        """
    let text = """
        {"class_name": "Functional", "config": {"name": "m", "layers": [\(([input] + layers).joined(separator: ", "))],
         "input_layers": [["x", 0, 0]], "output_layers": [["\(output)", 0, 0]]}}
        """
    return KerasModel(file: "test.keras", format: format, kerasVersion: "test", configText: text,
                      spec: try parseModel(try JSON.parse(text)), weights: weights)
}

/// A Keras 3 inbound node reading `inputs` (layer names) as its positional arguments, then `constants`.
func kerasNode(_ arguments: [String]) -> String {
    #"[{"args": [\#(arguments.joined(separator: ", "))], "kwargs": {}}]"#
}

func kerasTensor(_ layer: String) -> String {
    #"{"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 4, 3], "dtype": "float32", "keras_history": ["\#(layer)", 0, 0]}}"#
}

func kerasOperation(_ className: String, _ name: String, _ arguments: [String], config: String = "") -> String {
    #"{"module": "keras.src.ops.numpy", "class_name": "\#(className)", "config": {"name": "\#(name)"\#(config)}, "registered_name": "\#(className)", "name": "\#(name)", "inbound_nodes": \#(kerasNode(arguments))}"#
}

func tfOperation(_ function: String, _ name: String, node: String, className: String = "TFOpLambda") -> String {
    #"{"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "\#(className)", "config": {"name": "\#(name)", "trainable": true, "dtype": "float32", "function": "\#(function)"}, "registered_name": "\#(className)", "name": "\#(name)", "inbound_nodes": [\#(node)]}"#
}

func constantValues(_ graph: Graph, _ op: Op) -> [[Float]] {
    op.inputs.compactMap { graph[$0].constant?.floats }
}

func importError(_ model: KerasModel) -> String {
    do {
        _ = try importKeras(model)
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite struct OperationNodeTests {
    @Test func kerasArithmeticReadsConstantsOnEitherSide() throws {
        let model = try configModel([
            kerasOperation("Add", "add", [kerasTensor("x"), "3.0"]),
            kerasOperation("Subtract", "subtract", ["2.0", kerasTensor("add")]),
            kerasOperation("TrueDivide", "true_divide", [kerasTensor("subtract"), kerasTensor("x")]),
        ], output: "true_divide")
        let graph = try importKeras(model)
        #expect(graph.ops.map(\.kind.name) == ["add", "sub", "div"])
        #expect(graph[graph.ops[0].inputs[1]].constant?.floats == [3])
        // 2 - x keeps the constant first.
        #expect(graph[graph.ops[1].inputs[0]].constant?.floats == [2])
        #expect(graph.ops[2].inputs == [graph.ops[1].outputs[0], graph.inputs[0]])
    }

    @Test func tfKerasOperationsReadTheirKeywordArguments() throws {
        let model = try configModel([
            tfOperation("__operators__.add", "tf.__operators__.add", node: #"["x", 0, 0, {"y": 3.0, "name": null}]"#),
            tfOperation("math.subtract", "tf.math.subtract", node: #"["_CONSTANT_VALUE", -1, 2.0, {"y": ["tf.__operators__.add", 0, 0], "name": null}]"#),
            tfOperation("math.reduce_mean", "tf.math.reduce_mean", node: #"["tf.math.subtract", 0, 0, {"axis": [1, 2], "keepdims": true}]"#),
        ], output: "tf.math.reduce_mean", format: .tfKerasH5)
        let graph = try importKeras(model)
        #expect(graph.ops.map(\.kind) == [.binary(.add, .none), .binary(.sub, .none), .mean(axes: [1, 2], keepDims: true)])
        #expect(graph[graph.ops[1].inputs[0]].constant?.floats == [2])
        #expect(graph[graph.ops[1].inputs[1]].name == "tf.__operators__.add")
        #expect(graph[graph.outputs[0]].shape == [1, 1, 1, 3])
    }

    @Test func slicesFollowPythonRules() throws {
        let slices = #"[{"class_name": "__slice__", "config": {"start": null, "stop": null, "step": null}}, {"class_name": "__slice__", "config": {"start": 1, "stop": -1, "step": 2}}, {"class_name": "__ellipsis__", "config": {}}, 1]"#
        let keras = try importKeras(try configModel([kerasOperation("GetItem", "get_item", [kerasTensor("x"), slices])], output: "get_item"))
        #expect(keras.ops.map(\.kind) == [.stridedSlice(begin: [0, 1, 0, 1], end: [1, 3, 4, 2], strides: [1, 2, 1, 1]), .reshape([1, 1, 4])])
        let spec = #"{"slice_spec": [{"start": null, "stop": null, "step": null}, {"start": 1, "stop": -1, "step": 2}, {"class_name": "__ellipsis__"}, 1]}"#
        let tf = try importKeras(try configModel([tfOperation("__operators__.getitem", "tf.__operators__.getitem",
                                                              node: #"["x", 0, 0, \#(spec)]"#, className: "SlicingOpLambda")],
                                                 output: "tf.__operators__.getitem", format: .tfKerasH5))
        #expect(tf.ops.map(\.kind) == keras.ops.map(\.kind))
        let batch = #"[0, {"class_name": "__ellipsis__", "config": {}}]"#
        #expect(importError(try configModel([kerasOperation("GetItem", "get_item", [kerasTensor("x"), batch])], output: "get_item"))
            .contains("slicing the batch axis is not supported"))
    }

    @Test func operationsOutsideTheListAreRefusedByName() throws {
        let keras = importError(try configModel([kerasOperation("Sqrt", "sqrt", [kerasTensor("x")])], output: "sqrt"))
        #expect(keras.contains("layer 'sqrt': operation 'Sqrt' (keras.src.ops.numpy) is not one h5tolite converts"))
        #expect(!keras.contains("\n"))
        let tf = importError(try configModel([tfOperation("math.sqrt", "tf.math.sqrt", node: #"["x", 0, 0, {"name": null}]"#)],
                                             output: "tf.math.sqrt", format: .tfKerasH5))
        #expect(tf.contains("operation 'tf.math.sqrt'"))
    }

    /// Keras 3's legacy HDF5 writer leaves out `module`: an operation is known by its config
    /// without `dtype`, a layer of the same class name by its config with one.
    @Test func legacyKeras3OperationIsToldFromTheLayer() throws {
        let operation = #"{"class_name": "Add", "config": {"name": "add"}, "name": "add", "inbound_nodes": \#(kerasNode([kerasTensor("x"), "3.0"]))}"#
        let layer = #"{"class_name": "Add", "config": {"name": "add_1", "trainable": true, "dtype": "float32"}, "name": "add_1", "inbound_nodes": \#(kerasNode(["[\(kerasTensor("x")), \(kerasTensor("add"))]"]))}"#
        let graph = try importKeras(try configModel([operation, layer], output: "add_1", format: .keras3H5))
        #expect(graph.ops.map(\.kind) == [.binary(.add, .none), .binary(.add, .none)])
        #expect(graph[graph.ops[0].inputs[1]].constant?.floats == [3])
    }
}

@Suite struct UnsupportedLayerTests {
    func layer(_ className: String, module: String?, registeredName: String? = nil) -> String {
        let moduleField = module.map { "\"module\": \"\($0)\", " } ?? ""
        let registered = registeredName.map { "\"\($0)\"" } ?? "null"
        return #"{\#(moduleField)"class_name": "\#(className)", "config": {"name": "l", "trainable": true, "dtype": "float32"}, "registered_name": \#(registered), "name": "l", "inbound_nodes": \#(kerasNode([kerasTensor("x")]))}"#
    }

    func message(_ entry: String) throws -> String {
        importError(try configModel([entry], output: "l"))
    }

    @Test func builtInLayerIsNotSupportedYet() throws {
        #expect(try message(layer("Conv3DTranspose", module: "keras.layers")).contains("layer 'l': 'Conv3DTranspose' is a built-in Keras layer h5tolite does not support yet"))
        // tf.keras 2.12 and older write no module: the class name decides.
        #expect(try message(layer("GRU", module: nil)).contains("'GRU' is a built-in Keras layer h5tolite does not support yet"))
        #expect(try message(layer("LayerScale", module: "keras.src.applications.convnext", registeredName: "LayerScale"))
            .contains("'LayerScale' is a Keras layer from 'keras.src.applications.convnext' h5tolite does not support yet"))
    }

    @Test func customLayerIsCalledCustom() throws {
        let registered = try message(layer("MyScale", module: "my_project.layers", registeredName: "my_project>MyScale"))
        #expect(registered.contains("custom layer class 'MyScale' (registered as 'my_project>MyScale')"))
        #expect(try message(layer("MyScale", module: nil)).contains("custom layer class 'MyScale':"))
        // A custom class that reuses a built-in class name is still custom.
        #expect(try message(layer("Conv3DTranspose", module: "__main__", registeredName: "Custom>Conv3DTranspose")).contains("custom layer class 'Conv3DTranspose'"))
        #expect(!registered.contains("\n"))
    }
}

@Suite struct ApplicationLayerTests {
    func customScale(className: String, module: String?, extra: String = "") throws -> KerasModel {
        let moduleField = module.map { "\"module\": \"\($0)\", " } ?? ""
        let pair = "[\(kerasTensor("x")), \(kerasTensor("x"))]"
        let entry = #"{\#(moduleField)"class_name": "\#(className)", "config": {"name": "l", "trainable": true, "dtype": "float32", "scale": 0.17\#(extra)}, "name": "l", "inbound_nodes": \#(kerasNode([pair]))}"#
        return try configModel([entry], output: "l")
    }

    /// InceptionResNetV2's CustomScaleLayer: inputs[0] + inputs[1] * scale.
    @Test func inceptionResNetScaleLayerConverts() throws {
        for (className, module) in [("CustomScaleLayer", "keras.src.applications.inception_resnet_v2"),
                                    ("Custom>CustomScaleLayer", nil), ("CustomScaleLayer", nil)] {
            let graph = try importKeras(try customScale(className: className, module: module))
            #expect(graph.ops.map(\.kind) == [.binary(.mul, .none), .binary(.add, .none)])
            #expect(constantValues(graph, graph.ops[0]) == [[0.17]])
        }
    }

    @Test func sameNamedUserLayerStaysCustom() throws {
        #expect(importError(try customScale(className: "CustomScaleLayer", module: "my_project.layers")).contains("custom layer class 'CustomScaleLayer'"))
        #expect(importError(try customScale(className: "Custom>CustomScaleLayer", module: nil, extra: #", "bias": 1.0"#))
            .contains("custom layer class 'CustomScaleLayer' (registered as 'Custom>CustomScaleLayer')"))
    }
}
