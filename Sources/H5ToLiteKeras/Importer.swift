import H5ToLiteCore
import H5ToLiteIR

/// Builds the IR graph of a Keras model: each layer call lowers to a few ops.
public func importKeras(_ model: KerasModel) throws -> Graph {
    do {
        let builder = GraphBuilder(graph: Graph(name: model.spec.name), model: model)
        let inputs = try model.spec.inputs.map { ref in try builder.addGraphInput(ref, of: model.spec) }
        let outputs = try builder.importModel(model.spec, inputs: inputs, path: [])
        // A graph output that is also an input (an all-identity model) still needs an op to write.
        builder.graph.outputs = outputs
        return builder.graph
    } catch let error as H5ToLiteError {
        throw error.inFile(model.file)
    }
}

final class GraphBuilder {
    var graph: Graph
    let model: KerasModel

    init(graph: Graph, model: KerasModel) {
        self.graph = graph
        self.model = model
    }

    /// tf.keras 2 and Keras 3 define a few activations differently (hard_sigmoid).
    var isKeras3: Bool { model.format != .tfKerasH5 }

    func addGraphInput(_ ref: TensorRef, of spec: ModelSpec) throws -> ValueID {
        guard let layer = spec.layers.first(where: { $0.name == ref.layer }), layer.className == "InputLayer" else {
            throw H5ToLiteError(location: "model input '\(ref.layer)'", "is not an InputLayer")
        }
        guard let shape = try layer.config.shape("batch_shape") ?? layer.config.shape("batch_input_shape"),
              shape.count >= 2 else {
            throw H5ToLiteError(location: "layer '\(layer.name)'", "the input has no shape")
        }
        guard shape.dropFirst().allSatisfy({ $0 > 0 }) else {
            throw H5ToLiteError(location: "layer '\(layer.name)'",
                                  "the input shape \(shape.map { $0 < 0 ? "None" : String($0) }) has unknown dimensions; h5tolite needs a fixed input size")
        }
        return graph.addInput(name: layer.name, shape: [1] + shape.dropFirst())
    }

    func importModel(_ spec: ModelSpec, inputs: [ValueID], path: [String]) throws -> [ValueID] {
        guard inputs.count == spec.inputs.count else {
            throw H5ToLiteError(location: "model '\(spec.name)'", "called with \(inputs.count) inputs, it takes \(spec.inputs.count)")
        }
        var produced = Dictionary(uniqueKeysWithValues: zip(spec.inputs, inputs))
        // Configs list layers in an order Keras can rebuild; retry calls whose inputs come later.
        var pending = spec.layers.filter { $0.className != "InputLayer" }.flatMap { layer in
            layer.calls.indices.map { (layer, $0) }
        }
        while !pending.isEmpty {
            let before = pending.count
            pending = try pending.filter { layer, callIndex in
                let refs = layer.calls[callIndex]
                guard refs.allSatisfy({ produced[$0] != nil }) else { return true }
                let outputs = try call(layer, callIndex: callIndex, inputs: refs.map { produced[$0]! }, path: path)
                for (index, output) in outputs.enumerated() {
                    produced[TensorRef(layer: layer.name, node: callIndex, tensor: index)] = output
                }
                return false
            }
            if pending.count == before {
                let (layer, callIndex) = pending[0]
                let missing = layer.calls[callIndex].first { produced[$0] == nil }!
                throw H5ToLiteError(location: "layer '\(layer.name)'", "reads \(missing), which no layer produces")
            }
        }
        return try spec.outputs.map { ref in
            guard let value = produced[ref] else {
                throw H5ToLiteError(location: "model '\(spec.name)'", "its output \(ref) is never produced")
            }
            return value
        }
    }

    private func call(_ layer: LayerNode, callIndex: Int, inputs: [ValueID], path: [String]) throws -> [ValueID] {
        let layerPath = path + [layer.name]
        do {
            if let inner = layer.model {
                return try importModel(inner, inputs: inputs, path: layerPath)
            }
            let importer = try importer(for: layer)
            guard importer.inputs.contains(inputs.count) else {
                throw H5ToLiteError("called on \(inputs.count) tensors, the layer takes \(importer.inputs.lowerBound == importer.inputs.upperBound ? "\(importer.inputs.lowerBound)" : "\(importer.inputs.lowerBound) or more")")
            }
            let weights = model.weights[weightKey(layerPath)] ?? []
            let call = LayerCall(builder: self, name: callIndex == 0 ? layer.name : "\(layer.name)_\(callIndex)",
                                 config: layer.config, inputs: inputs,
                                 specs: try importer.weights(layer.config), weights: weights,
                                 arguments: callIndex < layer.arguments.count ? layer.arguments[callIndex] : CallArguments())
            return [try importer.build(call)]
        } catch let error as H5ToLiteError {
            throw error.at("layer '\(layerPath.joined(separator: "/"))' (\(layer.className))")
        }
    }
}

/// What a layer importer sees of one call: its settings, inputs and weights, and
/// helpers that add ops named after the layer.
struct LayerCall {
    let builder: GraphBuilder
    let name: String
    let config: LayerConfig
    let inputs: [ValueID]
    let specs: [WeightSpec]
    let weights: [WeightArray]
    /// The call's arguments as the config records them (read by operation nodes).
    var arguments = CallArguments()

    var input: ValueID { inputs[0] }

    func shape(_ value: ValueID) -> [Int] {
        builder.graph[value].shape
    }

    /// The first input's shape, checked to have exactly `rank` axes (NHWC layers) or at least
    /// `minimumRank`.
    func inputShape(rank: Int? = nil, minimumRank: Int = 1) throws -> [Int] {
        let shape = self.shape(input)
        guard shape.count >= minimumRank, rank.map({ shape.count == $0 }) ?? true else {
            throw H5ToLiteError("needs a rank-\(rank ?? minimumRank)\(rank == nil ? "+" : "") input, got shape \(shape)")
        }
        return shape
    }

    func expectInputs(_ count: Int) throws {
        guard inputs.count == count else {
            throw H5ToLiteError("takes \(count) input(s), got \(inputs.count)")
        }
    }

    /// Adds an op; its output is named after the layer, or `layer/suffix` for intermediate steps.
    func emit(_ kind: OpKind, _ operands: [ValueID], suffix: String? = nil) throws -> ValueID {
        try builder.graph.addOp(kind, inputs: operands, name: suffix.map { "\(name)/\($0)" } ?? name, origin: name)
    }

    func constant(_ suffix: String, shape: [Int], _ values: [Float]) -> ValueID {
        builder.graph.addConstant(name: "\(name)/\(suffix)", shape: shape, data: .float32(values))
    }

    func scalar(_ suffix: String, _ value: Float) -> ValueID {
        constant(suffix, shape: [], [value])
    }

    /// The stored weight called `specName`, checked against the shape the config implies.
    func weight(_ specName: String, shape expected: [Int]) throws -> [Float] {
        guard let index = specs.firstIndex(where: { $0.name == specName }), index < weights.count else {
            throw H5ToLiteError("weight '\(specName)' is missing from the file")
        }
        let array = weights[index]
        guard array.shape == expected else {
            throw H5ToLiteError("weight '\(specName)' has shape \(array.shape) in the file, the config needs \(expected)")
        }
        return array.values
    }
}
