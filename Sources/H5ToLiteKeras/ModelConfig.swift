import H5ToLiteCore
import H5ToLiteIR

/// One output of one call of a layer, as Keras configs refer to tensors.
struct TensorRef: Hashable, CustomStringConvertible {
    var layer: String
    var node: Int
    var tensor: Int

    var description: String { "\(layer)[\(node)][\(tensor)]" }
}

/// A layer as a model config describes it: class, settings, and what each call reads.
struct LayerNode {
    var className: String
    var name: String
    var config: LayerConfig
    /// The inputs of each call of the layer (Keras's inbound nodes).
    var calls: [[TensorRef]]
    var trainable: Bool
    /// Set when the layer is itself a model (a nested Functional or Sequential).
    var model: ModelSpec?
    /// Where the class comes from (`keras.layers`, `keras.src.ops.numpy`, a user's module), and the
    /// name it is registered under (`package>Class` for custom objects); Keras 2.12 and older write neither.
    var module: String? = nil
    var registeredName: String? = nil
    /// Each call's arguments as the config records them, tensors standing for the call's inputs.
    var arguments: [CallArguments] = []

    /// A Keras 3 operation node (Python arithmetic or an `ops.*` call on Keras tensors) or a
    /// tf.keras 2 TFOpLambda / SlicingOpLambda node.
    /// Keras 3's legacy HDF5 writer leaves out `module`; an operation's config then still
    /// differs from every layer's in lacking `dtype`.
    var isOperation: Bool {
        if className == "TFOpLambda" || className == "SlicingOpLambda" { return true }
        guard let module else { return model == nil && config.json["dtype"] == nil && config.json["layers"] == nil }
        return module.hasPrefix("keras.src.ops.")
    }
}

/// One argument of a call as the config records it: one of the call's input tensors (its
/// index in the call's `TensorRef`s), a constant, or a list of arguments.
indirect enum CallArgument {
    case tensor(Int)
    case constant(JSON)
    case list([CallArgument])
}

struct CallArguments {
    var positional: [CallArgument] = []
    var keyword: [String: CallArgument] = [:]
}

/// A Functional or Sequential model, with Sequential rewritten as a chain of calls.
struct ModelSpec {
    var name: String
    var layers: [LayerNode]
    var inputs: [TensorRef]
    var outputs: [TensorRef]
    /// Whether this is a Sequential: `.keras` archives name its layers without the InputLayer.
    var isSequential: Bool
}

private let modelClasses: Set = ["Functional", "Model", "Sequential"]

/// Parses `{"class_name": ..., "config": ...}` of a whole model.
func parseModel(_ json: JSON) throws -> ModelSpec {
    guard let className = json["class_name"]?.string, let config = json["config"] else {
        throw H5ToLiteError(location: "model_config", "missing class_name or config")
    }
    guard modelClasses.contains(className) else {
        throw H5ToLiteError(location: "model_config", "the top level is a '\(className)', not a Functional or Sequential model")
    }
    return try parseModel(className: className, config: config)
}

private func parseModel(className: String, config: JSON) throws -> ModelSpec {
    let name = config["name"]?.string ?? "model"
    do {
        return className == "Sequential" ? try parseSequential(name: name, config) : try parseFunctional(name: name, config)
    } catch let error as H5ToLiteError {
        throw error.at("model '\(name)'")
    }
}

private func parseLayer(_ json: JSON, calls: [ParsedCall]) throws -> LayerNode {
    guard let className = json["class_name"]?.string, let config = json["config"] else {
        throw H5ToLiteError("a layer entry lacks class_name or config")
    }
    let name = json["name"]?.string ?? config["name"]?.string ?? className
    let trainable = config["trainable"]?.bool ?? true
    let model = modelClasses.contains(className) ? try parseModel(className: className, config: config) : nil
    return LayerNode(className: className, name: name, config: LayerConfig(json: config),
                     calls: calls.map(\.refs), trainable: trainable, model: model,
                     module: json["module"]?.string, registeredName: json["registered_name"]?.string,
                     arguments: calls.map(\.arguments))
}

private func parseFunctional(name: String, _ config: JSON) throws -> ModelSpec {
    guard let entries = config["layers"]?.array else { throw H5ToLiteError("field 'layers' must be a list") }
    let layers = try entries.map { entry in
        let layerName = entry["name"]?.string ?? entry["config"]?["name"]?.string ?? "?"
        do {
            return try parseLayer(entry, calls: try parseInboundNodes(entry["inbound_nodes"] ?? .array([])))
        } catch let error as H5ToLiteError {
            throw error.at("layer '\(layerName)'")
        }
    }
    return ModelSpec(name: name, layers: layers,
                     inputs: try parseRefList(config["input_layers"], field: "input_layers"),
                     outputs: try parseRefList(config["output_layers"], field: "output_layers"),
                     isSequential: false)
}

/// A Sequential becomes a chain: each layer's single call reads the previous layer's output.
private func parseSequential(name: String, _ config: JSON) throws -> ModelSpec {
    guard var entries = config["layers"]?.array, !entries.isEmpty else {
        throw H5ToLiteError("a Sequential model needs layers")
    }
    var inputShape = try LayerConfig(json: config).shape("build_input_shape")
    if entries[0]["class_name"]?.string == "InputLayer" {
        let input = LayerConfig(json: entries[0]["config"] ?? .null)
        inputShape = try input.shape("batch_shape") ?? input.shape("batch_input_shape")
        entries.removeFirst()
    } else if let first = entries[0]["config"] {
        let firstConfig = LayerConfig(json: first)
        inputShape = try firstConfig.shape("batch_input_shape") ?? firstConfig.shape("batch_shape") ?? inputShape
    }
    guard let shape = inputShape else {
        throw H5ToLiteError("the Sequential model has no input shape (no InputLayer or batch_input_shape)")
    }
    let inputName = "\(name)_input"
    let inputLayer = LayerNode(className: "InputLayer", name: inputName,
                               config: LayerConfig(json: .object(["batch_shape": .array(shape.map { $0 < 0 ? .null : .number(Double($0)) })])),
                               calls: [], trainable: true, model: nil)
    var previous = TensorRef(layer: inputName, node: 0, tensor: 0)
    var layers = [inputLayer]
    for entry in entries {
        let layerName = entry["config"]?["name"]?.string ?? "?"
        do {
            let layer = try parseLayer(entry, calls: [ParsedCall(refs: [previous], arguments: CallArguments(positional: [.tensor(0)]))])
            layers.append(layer)
            previous = TensorRef(layer: layer.name, node: 0, tensor: 0)
        } catch let error as H5ToLiteError {
            throw error.at("layer '\(layerName)'")
        }
    }
    return ModelSpec(name: name, layers: layers, inputs: [TensorRef(layer: inputName, node: 0, tensor: 0)],
                     outputs: [previous], isSequential: true)
}

/// `[["name", 0, 0], ...]`, or a single `["name", 0, 0]` as Keras 3 writes for one tensor.
private func parseRefList(_ json: JSON?, field: String) throws -> [TensorRef] {
    guard let items = json?.array else { throw H5ToLiteError("field '\(field)' must be a list") }
    if items.first?.string != nil { return [try parseRef(json!)] }
    return try items.map(parseRef)
}

private func parseRef(_ json: JSON) throws -> TensorRef {
    guard let items = json.array, items.count >= 3, let layer = items[0].string,
          let node = items[1].int, let tensor = items[2].int else {
        throw H5ToLiteError("a tensor reference must be [layer, node, tensor]")
    }
    return TensorRef(layer: layer, node: node, tensor: tensor)
}

/// One call as an inbound node records it: the tensors it reads and its arguments.
private struct ParsedCall {
    var refs: [TensorRef] = []
    var arguments = CallArguments()
}

/// Inbound nodes in either format: tf.keras 2 writes `[[["conv1", 0, 0, {}], ...]]` (or one bare
/// `["x", 0, 0, {kwargs}]` for TFOpLambda), Keras 3 writes `[{"args": [...], "kwargs": {...}}]`
/// with `__keras_tensor__` entries.
private func parseInboundNodes(_ json: JSON) throws -> [ParsedCall] {
    guard let nodes = json.array else { throw H5ToLiteError("field 'inbound_nodes' must be a list") }
    return try nodes.map { node in
        var call = ParsedCall()
        if let args = node["args"] {
            call.arguments.positional = try (args.array ?? []).map { try kerasArgument($0, into: &call.refs) }
            for (key, value) in node["kwargs"]?.sortedFields ?? [] {
                call.arguments.keyword[key] = try kerasArgument(value, into: &call.refs)
            }
            return call
        }
        guard var entries = node.array else { throw H5ToLiteError("bad inbound node") }
        if entries.first?.string != nil { entries = [node] }
        let arguments = try entries.map { entry -> CallArgument in
            guard let items = entry.array, items.count >= 3, let layer = items[0].string else {
                throw H5ToLiteError("a tensor reference must be [layer, node, tensor]")
            }
            // tf.keras 2 writes a constant first argument as ["_CONSTANT_VALUE", -1, value, kwargs].
            if layer == "_CONSTANT_VALUE" { return .constant(items[2]) }
            call.refs.append(try parseRef(entry))
            return .tensor(call.refs.count - 1)
        }
        call.arguments.positional = arguments.count == 1 ? arguments : [.list(arguments)]
        for (key, value) in entries.first?.array?.dropFirst(3).first?.sortedFields ?? [] {
            call.arguments.keyword[key] = try tfKerasArgument(value, into: &call.refs)
        }
        return call
    }
}

private func kerasArgument(_ json: JSON, into refs: inout [TensorRef]) throws -> CallArgument {
    if json["class_name"]?.string == "__keras_tensor__", let history = json["config"]?["keras_history"] {
        refs.append(try parseRef(history))
        return .tensor(refs.count - 1)
    }
    if let items = json.array { return .list(try items.map { try kerasArgument($0, into: &refs) }) }
    return .constant(json)
}

/// tf.keras 2 keyword arguments name a tensor as a bare `[layer, node, tensor]`.
private func tfKerasArgument(_ json: JSON, into refs: inout [TensorRef]) throws -> CallArgument {
    guard let items = json.array else { return .constant(json) }
    if items.count == 3, items[0].string != nil, items[1].int != nil, items[2].int != nil {
        refs.append(try parseRef(json))
        return .tensor(refs.count - 1)
    }
    return .list(try items.map { try tfKerasArgument($0, into: &refs) })
}
