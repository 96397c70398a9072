import Foundation
import H5ToLiteCore
import H5ToLiteIR

let normalizationLayers: [String: LayerImporter] = [
    "BatchNormalization": LayerImporter(weights: { config in
        try scaleAndCenterWeights(config)
            + [WeightSpec(name: "moving_mean", trainable: false), WeightSpec(name: "moving_variance", trainable: false)]
    }, build: importBatchNormalization),
    "Rescaling": LayerImporter(build: importRescaling),
]

/// A normalization's gamma (with `scale`) and beta (with `center`), as Keras creates them.
func scaleAndCenterWeights(_ config: LayerConfig) throws -> [WeightSpec] {
    (try config.bool("scale", default: true) ? [WeightSpec(name: "gamma", trainable: true)] : [])
        + (try config.bool("center", default: true) ? [WeightSpec(name: "beta", trainable: true)] : [])
}

/// Inference-mode batch normalization. Without scale or center the missing gamma or beta
/// become ones or zeros, so the op always has its five operands; lower-batchnorm turns it
/// into a per-channel multiply and add, which fold-batchnorm merges where it can.
private func importBatchNormalization(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let shape = try call.inputShape(minimumRank: 2)
    let axisJSON = config.json["axis"]
    let axis = axisJSON?.int ?? axisJSON?.array?.first?.int ?? -1
    guard axis == -1 || axis == shape.count - 1, axisJSON?.array.map({ $0.count == 1 }) ?? true else {
        throw H5ToLiteError("normalization over axis \(axisJSON.map { "\($0)" } ?? "?") is not supported (only the channel axis)")
    }
    let channels = shape.last!
    let epsilon = try config.double("epsilon", default: 1e-3)
    let gamma = try config.bool("scale", default: true) ? try call.weight("gamma", shape: [channels]) : Array(repeating: 1, count: channels)
    let beta = try config.bool("center", default: true) ? try call.weight("beta", shape: [channels]) : Array(repeating: 0, count: channels)
    let parameters = [("gamma", gamma), ("beta", beta),
                      ("moving_mean", try call.weight("moving_mean", shape: [channels])),
                      ("moving_variance", try call.weight("moving_variance", shape: [channels]))]
    let operands = parameters.map { name, values in call.constant(name, shape: [channels], values) }
    return try call.emit(.batchNormalization(epsilon: Float(epsilon)), [call.input] + operands)
}

/// y = x * scale + offset; scale and offset are numbers or per-channel lists.
private func importRescaling(_ call: LayerCall) throws -> ValueID {
    func parameter(_ key: String, default fallback: Float) throws -> [Float] {
        guard let value = call.config.json[key], !value.isNull else { return [fallback] }
        if let number = value.number { return [Float(number)] }
        guard let list = value.array?.compactMap(\.number), !list.isEmpty else {
            throw H5ToLiteError("field '\(key)' must be a number or a list of numbers")
        }
        return list.map { Float($0) }
    }
    let scale = try parameter("scale", default: 1)
    let offset = try parameter("offset", default: 0)
    var value = call.input
    let needsOffset = offset.contains { $0 != 0 }
    if scale != [1] {
        value = try call.emit(.binary(.mul, .none), [value, call.constant("scale", shape: scale.count == 1 ? [] : [scale.count], scale)],
                              suffix: needsOffset ? "scale" : nil)
    }
    if needsOffset {
        value = try call.emit(.binary(.add, .none), [value, call.constant("offset", shape: offset.count == 1 ? [] : [offset.count], offset)])
    }
    return value == call.input ? try call.emit(.identity, [value]) : value
}
