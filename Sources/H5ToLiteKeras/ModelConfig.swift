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

private func parseLayer(_ json: JSON, calls: [[TensorRef]]) throws -> LayerNode {
    guard let className = json["class_name"]?.string, let config = json["config"] else {
        throw H5ToLiteError("a layer entry lacks class_name or config")
    }
    let name = json["name"]?.string ?? config["name"]?.string ?? className
    let trainable = config["trainable"]?.bool ?? true
    let model = modelClasses.contains(className) ? try parseModel(className: className, config: config) : nil
    return LayerNode(className: className, name: name, config: LayerConfig(json: config),
                     calls: calls, trainable: trainable, model: model)
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
            let layer = try parseLayer(entry, calls: [[previous]])
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

/// Inbound nodes in either format: tf.keras 2 writes `[[["conv1", 0, 0, {}], ...]]`,
/// Keras 3 writes `[{"args": [...], "kwargs": {...}}]` with `__keras_tensor__` entries.
private func parseInboundNodes(_ json: JSON) throws -> [[TensorRef]] {
    guard let nodes = json.array else { throw H5ToLiteError("field 'inbound_nodes' must be a list") }
    return try nodes.map { node in
        if let args = node["args"] {
            var refs: [TensorRef] = []
            try collectKerasTensors(args, into: &refs)
            return refs
        }
        guard let entries = node.array else { throw H5ToLiteError("bad inbound node") }
        return try entries.map(parseRef)
    }
}

private func collectKerasTensors(_ json: JSON, into refs: inout [TensorRef]) throws {
    switch json {
    case .array(let items):
        for item in items { try collectKerasTensors(item, into: &refs) }
    case .object:
        if json["class_name"]?.string == "__keras_tensor__", let history = json["config"]?["keras_history"] {
            refs.append(try parseRef(history))
        }
    default:
        break
    }
}
