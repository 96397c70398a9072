import H5ToLiteCore
import H5ToLiteIR

/// A variable a layer creates, in creation order; `trainable` is its default role.
struct WeightSpec: Sendable {
    var name: String
    var trainable: Bool
    /// Where a `.keras` archive keeps it below the layer's folder, when not `vars/<index>`
    /// (a layer built of sublayers: MultiHeadAttention's `query_dense/vars/0`).
    var archivePath: String? = nil
}

/// A leaf layer (not a model) with its path of names and whether an ancestor or itself is frozen.
private struct Leaf {
    var path: [String]
    var specs: [WeightSpec]
    var frozen: Bool
}

private func leaves(of model: ModelSpec, path: [String], frozen: Bool) throws -> [Leaf] {
    try model.layers.filter { $0.className != "InputLayer" }.flatMap { layer -> [Leaf] in
        let layerPath = path + [layer.name]
        let layerFrozen = frozen || !layer.trainable
        if let inner = layer.model {
            return try leaves(of: inner, path: layerPath, frozen: layerFrozen)
        }
        return [Leaf(path: layerPath, specs: try importer(for: layer).weights(layer.config), frozen: layerFrozen)]
    }
}

/// Legacy `.h5`: one group per top-level layer under `model_weights`, its arrays listed by
/// the `weight_names` attribute. A nested model's group holds the weights of all its
/// layers at once: the trainable ones of every layer first, then the non-trainable ones
/// (a frozen layer's weights all count as non-trainable), each in layer order.
func readLegacyWeights(_ model: ModelSpec, root: HDF5Group) throws -> [String: [WeightArray]] {
    var table: [String: [WeightArray]] = [:]
    for layer in model.layers where layer.className != "InputLayer" {
        let leafList = try leaves(of: ModelSpec(name: model.name, layers: [layer], inputs: [], outputs: [], isSequential: false),
                                  path: [], frozen: false)
        let needed = leafList.reduce(0) { $0 + $1.specs.count }
        guard root.has(layer.name) else {
            if needed == 0 { continue }
            throw H5ToLiteError(location: "layer '\(layer.name)'", "model_weights has no group for this layer")
        }
        let group = try root.group(layer.name)
        let names = try group.stringsAttribute("weight_names") ?? []
        guard names.count == needed else {
            throw H5ToLiteError(location: "layer '\(layer.name)'",
                                  "model_weights holds \(names.count) weights, the config needs \(needed)")
        }
        let arrays = try names.map { name in
            let dataset = try group.dataset(name)
            return WeightArray(name: name, shape: try dataset.shape(), values: try dataset.readFloats())
        }
        var trainable = arrays[...]
        var others = arrays.dropFirst(leafList.reduce(0) { total, leaf in
            total + (leaf.frozen ? 0 : leaf.specs.filter(\.trainable).count)
        })
        trainable = trainable.prefix(arrays.count - others.count)
        for leaf in leafList {
            table[weightKey(leaf.path)] = leaf.specs.map { spec in
                if !leaf.frozen && spec.trainable { return trainable.popFirst()! }
                return others.popFirst()!
            }
        }
    }
    return table
}

/// `.keras` archives: `layers/<snake_case class name>[_N]/vars/<i>`, where the names are
/// numbered per container in layer order (a Sequential's InputLayer is not counted).
func readArchiveWeights(_ model: ModelSpec, group: HDF5Group, path: [String] = []) throws -> [String: [WeightArray]] {
    var table: [String: [WeightArray]] = [:]
    var used: [String: Int] = [:]
    // Operation nodes are no layers: Keras keeps no state for them and does not count them.
    let layers = (model.isSequential ? Array(model.layers.dropFirst()) : model.layers).filter { !$0.isOperation }
    for layer in layers {
        var key = snakeCase(layer.className)
        if let count = used[key] {
            used[key] = count + 1
            key += "_\(count + 1)"
        } else {
            used[key] = 0
        }
        let layerPath = path + [layer.name]
        if layer.className == "InputLayer" { continue }
        if let inner = layer.model {
            let merged = try readArchiveWeights(inner, group: try group.group("layers/\(key)"), path: layerPath)
            table.merge(merged) { first, _ in first }
            continue
        }
        let specs = try importer(for: layer).weights(layer.config)
        guard !specs.isEmpty else { continue }
        let folder = try group.group("layers/\(key)")
        table[weightKey(layerPath)] = try specs.indices.map { index in
            let dataset = try folder.dataset(specs[index].archivePath ?? "vars/\(index)")
            return WeightArray(name: specs[index].name, shape: try dataset.shape(), values: try dataset.readFloats())
        }
    }
    return table
}

/// Keras's `to_snake_case`: "BatchNormalization" -> "batch_normalization", "PReLU" -> "p_re_lu".
func snakeCase(_ name: String) -> String {
    let chars = Array(name.filter { $0.isLetter || $0.isNumber || $0 == "_" })
    var pieces = ""
    // Pass 1: an underscore before each capital that starts a capitalised word ("Xy+").
    for (index, char) in chars.enumerated() {
        if index > 0, char.isUppercase, index + 1 < chars.count, chars[index + 1].isLowercase {
            pieces.append("_")
        }
        pieces.append(char)
    }
    // Pass 2: an underscore between a lower-case letter and a capital.
    let first = Array(pieces)
    var result = ""
    for (index, char) in first.enumerated() {
        if index > 0, char.isUppercase, first[index - 1].isLowercase {
            result.append("_")
        }
        result.append(char)
    }
    return result.lowercased()
}
