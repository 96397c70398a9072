import H5ToLiteCore
import H5ToLiteIR

/// Layers keras.applications define for their own models, with the config keys they write.
/// Legacy `.h5` files name neither the module nor a package of their own (tf.keras 2 writes
/// "Custom>CustomScaleLayer"), so a class of the same name is taken for Keras's only when its
/// module, if written, is Keras's applications module and its config holds exactly these keys.
let applicationLayers: [String: (configKeys: Set<String>, importer: LayerImporter)] = [
    // InceptionResNetV2's residual scaling: inputs[0] + inputs[1] * scale.
    "CustomScaleLayer": (["name", "trainable", "dtype", "scale"], LayerImporter(inputs: 2...2) { call in
        let scale = try call.config.double("scale")
        let scaled = try call.emit(.binary(.mul, .none), [call.inputs[1], call.scalar("scale", Float(scale))], suffix: "scaled")
        return try call.emit(.binary(.add, .none), [call.inputs[0], scaled])
    }),
    // ConvNeXt's per-channel scale of each block's output: x * gamma.
    "LayerScale": (["name", "trainable", "dtype", "init_values", "projection_dim"], LayerImporter(weights: { _ in
        [WeightSpec(name: "gamma", trainable: true)]
    }) { call in
        let channels = try call.config.int("projection_dim")
        let gamma = call.constant("gamma", shape: [channels], try call.weight("gamma", shape: [channels]))
        return try call.emit(.binary(.mul, .none), [call.input, gamma])
    }),
]

func applicationLayer(for layer: LayerNode) -> LayerImporter? {
    let className = layer.className.hasPrefix("Custom>") ? String(layer.className.dropFirst("Custom>".count)) : layer.className
    guard let (configKeys, importer) = applicationLayers[className],
          let keys = layer.config.json.sortedFields.map({ Set($0.map(\.key)) }), keys == configKeys else { return nil }
    if let module = layer.module {
        guard module.hasPrefix("keras.src.applications.") || module.hasPrefix("tf_keras.src.applications.") else { return nil }
    }
    return importer
}
