import H5ToLiteCore
import H5ToLiteIR

/// How one Keras layer class converts: the variables it stores, and the ops one call becomes.
struct LayerImporter: Sendable {
    var weights: @Sendable (LayerConfig) throws -> [WeightSpec] = { _ in [] }
    /// How many tensors one call reads: one, except for the merging layers.
    var inputs: ClosedRange<Int> = 1...1
    var build: @Sendable (LayerCall) throws -> ValueID
}

/// Every supported layer class. A class missing here is refused by name.
let layerImporters: [String: LayerImporter] = convolutionLayers
    .merging(normalizationLayers) { $1 }
    .merging(activationLayers) { $1 }
    .merging(poolingLayers) { $1 }
    .merging(reshapingLayers) { $1 }
    .merging(mergingLayers) { $1 }
    .merging(pruningWrapperLayers) { $1 }
    .merging(transformerLayers) { $1 }
    .merging(transposeConvolutionLayers) { $1 }
    .merging(preprocessingLayers) { $1 }
    .merging(volumeLayers) { $1 }

func importer(for layer: LayerNode) throws -> LayerImporter {
    if layer.isOperation { return try operationImporter(for: layer) }
    // Lambda layers hold serialized Python: refused rather than executed.
    if layer.className == "Lambda" {
        throw H5ToLiteError(location: "layer '\(layer.name)' (\(layer.className))",
                              "holds serialized Python code, which h5tolite never executes; rebuild the model with built-in layers")
    }
    guard let importer = layerImporters[layer.className] ?? applicationLayer(for: layer) else { throw unsupportedLayer(layer) }
    return importer
}

/// Refuses code-carrying and unknown layers anywhere in the model before any weight is read.
func checkLayerClasses(_ model: ModelSpec) throws {
    for layer in model.layers where layer.className != "InputLayer" {
        if let inner = layer.model {
            try checkLayerClasses(inner)
        } else {
            _ = try importer(for: layer)
        }
    }
}

/// Layers that do nothing at inference time.
func passThrough() -> LayerImporter {
    LayerImporter { call in try call.emit(.identity, [call.input]) }
}
