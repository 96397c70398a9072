import H5ToLiteCore
import H5ToLiteIR

let transformerLayers: [String: LayerImporter] = [
    "LayerNormalization": LayerImporter(weights: { config in
        (try config.bool("scale", default: true) ? [WeightSpec(name: "gamma", trainable: true)] : [])
            + (try config.bool("center", default: true) ? [WeightSpec(name: "beta", trainable: true)] : [])
    }, build: importLayerNormalization),
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
    let last = shape.count - 1
    let channels = shape[last]
    let mean = try call.emit(.mean(axes: [last], keepDims: true), [call.input], suffix: "mean")
    let centred = try call.emit(.binary(.sub, .none), [call.input, mean], suffix: "centred")
    let square = try call.emit(.binary(.mul, .none), [centred, centred], suffix: "square")
    let variance = try call.emit(.mean(axes: [last], keepDims: true), [square], suffix: "variance")
    let epsilon = call.scalar("epsilon", Float(try config.double("epsilon", default: 1e-3)))
    let shifted = try call.emit(.binary(.add, .none), [variance, epsilon], suffix: "variance_epsilon")
    let inverse = try call.emit(.unary(.rsqrt), [shifted], suffix: "rsqrt")
    let scale = try config.bool("scale", default: true), center = try config.bool("center", default: true)
    var result = try call.emit(.binary(.mul, .none), [centred, inverse], suffix: scale || center ? "normalized" : nil)
    if scale {
        let gamma = call.constant("gamma", shape: [channels], try call.weight("gamma", shape: [channels]))
        result = try call.emit(.binary(.mul, .none), [result, gamma], suffix: center ? "scaled" : nil)
    }
    if center {
        let beta = call.constant("beta", shape: [channels], try call.weight("beta", shape: [channels]))
        result = try call.emit(.binary(.add, .none), [result, beta])
    }
    return result
}
