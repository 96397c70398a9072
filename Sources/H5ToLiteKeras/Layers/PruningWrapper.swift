import H5ToLiteCore
import H5ToLiteIR

/// tfmot's PruneLowMagnitude wrapper, as saved without `strip_pruning`: the wrapped layer's
/// config sits under `layer`, and its weights are stored with a mask and threshold per
/// pruned kernel and a pruning step. The mask is applied and the wrapper disappears.
let pruningWrapperLayers: [String: LayerImporter] = [
    "PruneLowMagnitude": LayerImporter(weights: wrapperWeights, build: importWrapped),
]

/// Kernels tfmot 0.8 prunes per layer class (its prune registry); DepthwiseConv2D has none.
private let prunedKernels: [String: [String]] = [
    "Conv2D": ["kernel"], "Dense": ["kernel"], "SeparableConv2D": ["pointwise_kernel"],
]

private func wrappedLayer(_ config: LayerConfig) throws -> (className: String, name: String, config: LayerConfig) {
    guard let layer = config.json["layer"], let className = layer["class_name"]?.string, let inner = layer["config"] else {
        throw H5ToLiteError("PruneLowMagnitude without a wrapped 'layer'")
    }
    return (className, inner["name"]?.string ?? className, LayerConfig(json: inner))
}

private func wrappedImporter(_ className: String) throws -> LayerImporter {
    guard let importer = layerImporters[className], className != "PruneLowMagnitude" else {
        throw H5ToLiteError("PruneLowMagnitude wraps an unsupported layer class '\(className)'")
    }
    return importer
}

/// The wrapper's weights in file order: the inner layer's trainable weights, the wrapper's
/// own (mask and threshold per pruned kernel, then the step), the inner non-trainable ones.
@Sendable private func wrapperWeights(_ config: LayerConfig) throws -> [WeightSpec] {
    let inner = try wrappedLayer(config)
    let specs = try wrappedImporter(inner.className).weights(inner.config)
    let own = (prunedKernels[inner.className] ?? []).flatMap { kernel in
        [WeightSpec(name: "\(kernel)/mask", trainable: false), WeightSpec(name: "\(kernel)/threshold", trainable: false)]
    } + [WeightSpec(name: "pruning_step", trainable: false)]
    return specs.filter(\.trainable) + own + specs.filter { !$0.trainable }
}

@Sendable private func importWrapped(_ call: LayerCall) throws -> ValueID {
    let inner = try wrappedLayer(call.config)
    let importer = try wrappedImporter(inner.className)
    let innerSpecs = try importer.weights(inner.config)
    let masks = prunedKernels[inner.className] ?? []
    let byName = Dictionary(zip(call.specs.map(\.name), call.weights), uniquingKeysWith: { first, _ in first })
    let innerWeights = try innerSpecs.map { spec -> WeightArray in
        guard var array = byName[spec.name] else { throw H5ToLiteError("weight '\(spec.name)' is missing from the file") }
        if masks.contains(spec.name), let mask = byName["\(spec.name)/mask"] {
            guard mask.values.count == array.values.count else {
                throw H5ToLiteError("the pruning mask of '\(spec.name)' has shape \(mask.shape), the kernel \(array.shape)")
            }
            array.values = zip(array.values, mask.values).map { $0 * $1 }
        }
        return array
    }
    let innerCall = LayerCall(builder: call.builder, name: inner.name, config: inner.config, inputs: call.inputs,
                              specs: innerSpecs, weights: innerWeights)
    return try importer.build(innerCall)
}
