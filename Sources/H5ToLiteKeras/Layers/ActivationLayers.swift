import H5ToLiteCore
import H5ToLiteIR

let activationLayers: [String: LayerImporter] = [
    "Activation": LayerImporter { call in
        try applyActivation(call, try call.config.string("activation"), to: call.input, final: true)
    },
    "ReLU": LayerImporter(build: importReLU),
    "LeakyReLU": LayerImporter { call in
        // Keras 3 calls the slope negative_slope, tf.keras alpha; both default to 0.3.
        let slope = try call.config.double("negative_slope", default: try call.config.double("alpha", default: 0.3))
        return try call.emit(.leakyRelu(alpha: Float(slope)), [call.input])
    },
    "PReLU": LayerImporter(weights: { _ in [WeightSpec(name: "alpha", trainable: true)] }, build: importPReLU),
    "ELU": LayerImporter { call in
        guard try call.config.double("alpha", default: 1) == 1 else { throw H5ToLiteError("ELU with alpha != 1 is not supported") }
        return try call.emit(.unary(.elu), [call.input])
    },
    "Softmax": LayerImporter { call in
        let rank = call.shape(call.input).count
        let axis = call.config.json["axis"]?.int ?? call.config.json["axis"]?.array?.first?.int ?? -1
        guard axis == -1 || axis == rank - 1 else { throw H5ToLiteError("softmax over axis \(axis) is not supported (only the last)") }
        return try call.emit(.softmax(beta: 1), [call.input])
    },
]

/// Applies a Keras activation by name. The layer's own name goes on the last op;
/// `final` says the activation is the whole layer, so even `linear` needs an op.
func applyActivation(_ call: LayerCall, _ name: String, to value: ValueID, final: Bool = false) throws -> ValueID {
    let x = [value]
    switch name {
    case "linear":
        return final ? try call.emit(.identity, x) : value
    case "relu": return try call.emit(.unary(.relu), x)
    case "relu6": return try call.emit(.unary(.relu6), x)
    case "sigmoid": return try call.emit(.unary(.logistic), x)
    case "tanh": return try call.emit(.unary(.tanh), x)
    case "elu": return try call.emit(.unary(.elu), x)
    case "softmax": return try call.emit(.softmax(beta: 1), x)
    case "hard_swish", "hard_silu": return try call.emit(.unary(.hardSwish), x)
    case "gelu": return try call.emit(.unary(.gelu), x)
    case "leaky_relu": return try call.emit(.leakyRelu(alpha: 0.2), x)
    case "swish", "silu":
        let gate = try call.emit(.unary(.logistic), x, suffix: "sigmoid")
        return try call.emit(.binary(.mul, .none), [value, gate])
    case "hard_sigmoid":
        return try hardSigmoid(call, value)
    default:
        throw H5ToLiteError("activation '\(name)' is not supported")
    }
}

/// Keras 3: relu6(x + 3) / 6. tf.keras 2: clip(0.2 x + 0.5, 0, 1).
private func hardSigmoid(_ call: LayerCall, _ x: ValueID) throws -> ValueID {
    if call.builder.isKeras3 {
        let shifted = try call.emit(.binary(.add, .none), [x, call.scalar("three", 3)], suffix: "shift")
        let clipped = try call.emit(.unary(.relu6), [shifted], suffix: "relu6")
        return try call.emit(.binary(.mul, .none), [clipped, call.scalar("one_sixth", 1.0 / 6)])
    }
    let scaled = try call.emit(.binary(.mul, .none), [x, call.scalar("slope", 0.2)], suffix: "scale")
    let shifted = try call.emit(.binary(.add, .none), [scaled, call.scalar("half", 0.5)], suffix: "shift")
    let positive = try call.emit(.unary(.relu), [shifted], suffix: "relu")
    return try call.emit(.binary(.minimum, .none), [positive, call.scalar("one", 1)])
}

/// Keras's relu(x, negative_slope, max_value, threshold), as both Keras versions compute it:
/// x where x > threshold else 0, clipped to [0, max_value], minus slope * relu(threshold - x).
private func importReLU(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let slope = Float(try config.double("negative_slope", default: 0))
    let threshold = Float(try config.double("threshold", default: 0))
    let maxValue = config.has("max_value") ? Float(try config.double("max_value")) : nil
    let x = call.input
    if slope == 0, threshold == 0 {
        if maxValue == nil { return try call.emit(.unary(.relu), [x]) }
        if maxValue == 6 { return try call.emit(.unary(.relu6), [x]) }
    }
    if slope != 0, threshold == 0, maxValue == nil {
        return try call.emit(.leakyRelu(alpha: slope), [x])
    }
    var positive: ValueID
    if threshold != 0 {
        let limit = call.scalar("threshold", threshold)
        let above = try call.emit(.greater, [x, limit], suffix: "above_threshold")
        positive = try call.emit(.select, [above, x, call.scalar("zero", 0)], suffix: "positive")
    } else {
        positive = try call.emit(.unary(maxValue == 6 ? .relu6 : .relu), [x], suffix: "positive")
    }
    if let maxValue, threshold != 0 || maxValue != 6 {
        if threshold != 0 {
            positive = try call.emit(.binary(.maximum, .none), [positive, call.scalar("zero_floor", 0)], suffix: "floor")
        }
        positive = try call.emit(.binary(.minimum, .none), [positive, call.scalar("max_value", maxValue)],
                                 suffix: slope == 0 ? nil : "clip")
    }
    guard slope != 0 else { return positive }
    var negated = try call.emit(.binary(.mul, .none), [x, call.scalar("minus_one", -1)], suffix: "negate")
    if threshold != 0 {
        negated = try call.emit(.binary(.add, .none), [negated, call.scalar("threshold_shift", threshold)], suffix: "shift")
    }
    let negative = try call.emit(.unary(.relu), [negated], suffix: "negative")
    let scaled = try call.emit(.binary(.mul, .none), [negative, call.scalar("slope", slope)], suffix: "scaled_negative")
    return try call.emit(.binary(.sub, .none), [positive, scaled])
}

private func importPReLU(_ call: LayerCall) throws -> ValueID {
    var shape = Array(call.shape(call.input).dropFirst())
    let shared = call.config.json["shared_axes"]?.array?.compactMap(\.int) ?? []
    for axis in shared where axis >= 1 && axis <= shape.count {
        shape[axis - 1] = 1
    }
    let alpha = call.constant("alpha", shape: shape, try call.weight("alpha", shape: shape))
    return try call.emit(.prelu, [call.input, alpha])
}
