import H5ToLiteCore
import H5ToLiteIR

let transformerLayers: [String: LayerImporter] = [
    "LayerNormalization": LayerImporter(weights: scaleAndCenterWeights, build: importLayerNormalization),
    "GroupNormalization": LayerImporter(weights: scaleAndCenterWeights, build: importGroupNormalization),
    "MultiHeadAttention": LayerImporter(weights: attentionWeights, inputs: 1...3, build: importMultiHeadAttention),
    "GlobalAveragePooling1D": LayerImporter { call in
        _ = try call.inputShape(rank: 3)
        return try call.emit(.mean(axes: [1], keepDims: try call.config.bool("keepdims", default: false)), [call.input])
    },
]

/// Normalization over the last axis, as TensorFlow's converter lowers it to builtin ops:
/// (x - mean) * rsqrt(variance + epsilon) * gamma + beta, mean and variance per position.
private func importLayerNormalization(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let shape = try call.inputShape(minimumRank: 2)
    let axisJSON = config.json["axis"]
    let axes = axisJSON?.array?.compactMap(\.int) ?? axisJSON?.int.map { [$0] } ?? [-1]
    guard axes.count == 1, axes[0] == -1 || axes[0] == shape.count - 1 else {
        throw H5ToLiteError("normalization over axes \(axes) is not supported (only the last axis)")
    }
    guard try !config.bool("rms_scaling", default: false) else {
        throw H5ToLiteError("rms_scaling is not supported")
    }
    let normalized = try standardize(call, call.input, axes: [shape.count - 1], epsilon: try config.double("epsilon", default: 1e-3))
    return try scaleAndShift(call, normalized, channels: shape[shape.count - 1])
}

/// Normalization over the channels of each of `groups` groups and all positions of a sample:
/// the channel axis split into (groups, channels / groups), standardized over every axis but
/// the batch and the group, put back, then scaled and shifted per channel (as TensorFlow's
/// converter writes it, with rank-5 MEAN, SUB, MUL, RSQRT).
private func importGroupNormalization(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let shape = try call.inputShape(minimumRank: 3)
    let axis = config.json["axis"]?.int ?? config.json["axis"]?.array?.first?.int ?? -1
    let channels = shape[shape.count - 1], groups = try config.int("groups", default: 32)
    guard axis == -1 || axis == shape.count - 1 else { throw H5ToLiteError("group normalization over axis \(axis) is not supported (only the last)") }
    guard groups > 0, channels % groups == 0 else { throw H5ToLiteError("\(channels) channels do not split into \(groups) groups") }
    let split = try call.emit(.reshape(Array(shape.dropLast()) + [groups, channels / groups]), [call.input], suffix: "groups")
    let axes = Array(1..<shape.count - 1) + [shape.count]
    let normalized = try standardize(call, split, axes: axes, epsilon: try config.double("epsilon", default: 1e-3))
    let joined = try call.emit(.reshape(shape), [normalized], suffix: "joined")
    return try scaleAndShift(call, joined, channels: channels)
}

/// (x - mean) * rsqrt(variance + epsilon), mean and variance over `axes`.
private func standardize(_ call: LayerCall, _ x: ValueID, axes: [Int], epsilon: Double) throws -> ValueID {
    let mean = try call.emit(.mean(axes: axes, keepDims: true), [x], suffix: "mean")
    let centred = try call.emit(.binary(.sub, .none), [x, mean], suffix: "centred")
    let square = try call.emit(.binary(.mul, .none), [centred, centred], suffix: "square")
    let variance = try call.emit(.mean(axes: axes, keepDims: true), [square], suffix: "variance")
    let shifted = try call.emit(.binary(.add, .none), [variance, call.scalar("epsilon", Float(epsilon))], suffix: "variance_epsilon")
    let inverse = try call.emit(.unary(.rsqrt), [shifted], suffix: "rsqrt")
    return try call.emit(.binary(.mul, .none), [centred, inverse], suffix: "normalized")
}

/// x * gamma + beta per channel, each where the config has it; the layer's name goes on the last op.
private func scaleAndShift(_ call: LayerCall, _ x: ValueID, channels: Int) throws -> ValueID {
    let scale = try call.config.bool("scale", default: true), center = try call.config.bool("center", default: true)
    var result = x
    if scale {
        let gamma = call.constant("gamma", shape: [channels], try call.weight("gamma", shape: [channels]))
        result = try call.emit(.binary(.mul, .none), [result, gamma], suffix: center ? "scaled" : nil)
    }
    if center {
        let beta = call.constant("beta", shape: [channels], try call.weight("beta", shape: [channels]))
        result = try call.emit(.binary(.add, .none), [result, beta])
    }
    return scale || center ? result : try call.emit(.identity, [result])
}

/// Query, key, value and output projections, each a kernel and (with use_bias) a bias, in the
/// order Keras lists them; a `.keras` archive keeps them in the sublayers' folders.
private func attentionWeights(_ config: LayerConfig) throws -> [WeightSpec] {
    let bias = try config.bool("use_bias", default: true)
    return [("query", "query_dense"), ("key", "key_dense"), ("value", "value_dense"), ("attention_output", "output_dense")]
        .flatMap { name, folder in
            [WeightSpec(name: "\(name)/kernel", trainable: true, archivePath: "\(folder)/vars/0")]
                + (bias ? [WeightSpec(name: "\(name)/bias", trainable: true, archivePath: "\(folder)/vars/1")] : [])
        }
}

/// Self- or cross-attention over the token axis of rank-3 inputs, lowered to builtin ops as
/// TensorFlow's converter lowers it: FULLY_CONNECTED projections, heads split by RESHAPE and
/// TRANSPOSE, BATCH_MATMUL of query and key, MUL by 1/sqrt(key_dim), SOFTMAX, BATCH_MATMUL
/// with the values, heads joined, FULLY_CONNECTED output projection. Masks are refused.
private func importMultiHeadAttention(_ call: LayerCall) throws -> ValueID {
    let (query, value, key) = try attentionOperands(call)
    let config = call.config
    let heads = try config.int("num_heads")
    let keyDim = try config.int("key_dim")
    let valueDim = config.json["value_dim"]?.int ?? keyDim
    let queryShape = call.shape(query), valueShape = call.shape(value)
    guard queryShape.count == 3, valueShape.count == 3, call.shape(key) == valueShape else {
        throw H5ToLiteError("attention over inputs shaped \(queryShape) and \(valueShape) is not supported (rank-3 tokens only)")
    }
    let axes = config.json["attention_axes"]
    guard axes == nil || axes!.isNull || axes!.array?.compactMap(\.int) == [1] || axes!.int == 1 else {
        throw H5ToLiteError("attention_axes \(axes!) is not supported (only the token axis)")
    }
    let outputJSON = config.json["output_shape"]
    let outputDim = outputJSON?.int ?? outputJSON?.array?.first?.int ?? queryShape[2]
    guard outputJSON == nil || outputJSON!.isNull || outputJSON!.int != nil || outputJSON!.array?.count == 1 else {
        throw H5ToLiteError("output_shape \(outputJSON!) is not supported")
    }
    let projected = try [("query", query, keyDim), ("key", key, keyDim), ("value", value, valueDim)].map { name, input, depth in
        try splitHeads(call, name, try project(call, name, input, units: heads * depth), heads: heads, depth: depth)
    }
    let scores = try call.emit(.batchMatMul(adjointX: false, adjointY: true), [projected[0], projected[1]], suffix: "scores")
    let scaled = try call.emit(.binary(.mul, .none), [scores, call.scalar("inverse_sqrt_key_dim", 1 / Float(keyDim).squareRoot())],
                               suffix: "scaled_scores")
    let weights = try call.emit(.softmax(beta: 1), [scaled], suffix: "attention_weights")
    let context = try call.emit(.batchMatMul(adjointX: false, adjointY: false), [weights, projected[2]], suffix: "context")
    let tokens = call.shape(context)[2]
    let joined = try call.emit(.reshape([1, tokens, heads * valueDim]),
                               [try call.emit(.transpose([0, 2, 1, 3]), [context], suffix: "context_tokens")], suffix: "joined_heads")
    return try projectOutput(call, joined, heads: heads, valueDim: valueDim, units: outputDim)
}

/// The query, value and key tensors of the call (key defaults to value); refuses masks and
/// attention scores as an output.
private func attentionOperands(_ call: LayerCall) throws -> (ValueID, ValueID, ValueID) {
    let arguments = call.arguments
    func tensor(_ position: Int, _ keyword: String) -> ValueID? {
        let argument = position < arguments.positional.count ? arguments.positional[position] : arguments.keyword[keyword]
        if case .tensor(let index)? = argument { return call.inputs[index] }
        return nil
    }
    for keyword in ["attention_mask", "query_mask", "value_mask", "key_mask"] {
        if case .tensor? = arguments.keyword[keyword] { throw H5ToLiteError("attention with '\(keyword)' is not supported") }
    }
    for flag in ["use_causal_mask", "return_attention_scores"] {
        if case .constant(let json)? = arguments.keyword[flag], json.bool == true {
            throw H5ToLiteError("attention with \(flag)=True is not supported")
        }
    }
    guard let query = tensor(0, "query") ?? call.inputs.first, let value = tensor(1, "value") ?? (call.inputs.count == 1 ? query : nil) else {
        throw H5ToLiteError("attention needs a query and a value")
    }
    return (query, value, tensor(2, "key") ?? value)
}

/// input [1, T, d] -> [1, T, units] through the kernel [d, heads, depth] as a (units, d) filter.
private func project(_ call: LayerCall, _ name: String, _ input: ValueID, units: Int) throws -> ValueID {
    let inputDim = call.shape(input)[2]
    let heads = try call.config.int("num_heads")
    let kernel = try call.weight("\(name)/kernel", shape: [inputDim, heads, units / heads])
    let filter = call.constant("\(name)/filter", shape: [units, inputDim], transposed(kernel, rows: inputDim, columns: units))
    var operands = [input, filter]
    if try call.config.bool("use_bias", default: true) {
        operands.append(call.constant("\(name)/bias", shape: [units], try call.weight("\(name)/bias", shape: [heads, units / heads])))
    }
    return try call.emit(.fullyConnected(.none), operands, suffix: name)
}

/// [1, T, heads * depth] -> [1, heads, T, depth].
private func splitHeads(_ call: LayerCall, _ name: String, _ x: ValueID, heads: Int, depth: Int) throws -> ValueID {
    let tokens = call.shape(x)[1]
    let split = try call.emit(.reshape([1, tokens, heads, depth]), [x], suffix: "\(name)_heads")
    return try call.emit(.transpose([0, 2, 1, 3]), [split], suffix: "\(name)_by_head")
}

/// [1, T, heads * valueDim] -> [1, T, units] through the kernel [heads, valueDim, units].
private func projectOutput(_ call: LayerCall, _ x: ValueID, heads: Int, valueDim: Int, units: Int) throws -> ValueID {
    let depth = heads * valueDim
    let kernel = try call.weight("attention_output/kernel", shape: [heads, valueDim, units])
    var operands = [x, call.constant("attention_output/filter", shape: [units, depth], transposed(kernel, rows: depth, columns: units))]
    if try call.config.bool("use_bias", default: true) {
        operands.append(call.constant("attention_output/bias", shape: [units], try call.weight("attention_output/bias", shape: [units])))
    }
    return try call.emit(.fullyConnected(.none), operands)
}

/// A row-major rows x columns matrix transposed.
private func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    for r in 0..<rows {
        for c in 0..<columns { result[c * rows + r] = values[r * columns + c] }
    }
    return result
}
