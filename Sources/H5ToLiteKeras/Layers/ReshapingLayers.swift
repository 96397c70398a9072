import H5ToLiteCore
import H5ToLiteIR

let reshapingLayers: [String: LayerImporter] = [
    "ZeroPadding2D": LayerImporter { call in
        let padding = try call.config.pairs("padding", count: 2)
        guard padding.joined().allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw H5ToLiteError("padding must be non-negative") }
        _ = try call.inputShape(rank: 4)
        return try call.emit(.pad([[0, 0], padding[0], padding[1], [0, 0]]), [call.input])
    },
    "Cropping2D": LayerImporter { call in
        let crop = try call.config.pairs("cropping", count: 2)
        let shape = try call.inputShape(rank: 4)
        guard crop.joined().allSatisfy({ $0 >= 0 }), crop[0][0] + crop[0][1] < shape[1], crop[1][0] + crop[1][1] < shape[2] else {
            throw H5ToLiteError("cropping \(crop) does not fit the input \(shape)")
        }
        return try call.emit(.stridedSlice(begin: [0, crop[0][0], crop[1][0], 0],
                                           end: [shape[0], shape[1] - crop[0][1], shape[2] - crop[1][1], shape[3]],
                                           strides: [1, 1, 1, 1]), [call.input])
    },
    "Flatten": LayerImporter { call in
        let shape = try call.inputShape()
        return try call.emit(.reshape([shape[0], elementCount(Array(shape.dropFirst()))]), [call.input])
    },
    "Reshape": LayerImporter(build: importReshape),
    "Permute": LayerImporter { call in
        guard let dims = call.config.json["dims"]?.array?.compactMap(\.int) else { throw H5ToLiteError("field 'dims' is missing") }
        return try call.emit(.transpose([0] + dims), [call.input])
    },
    "UpSampling2D": LayerImporter { call in
        let size = try positive(try call.config.ints("size", count: 2), "size")
        let shape = try call.inputShape(rank: 4)
        let interpolation = try call.config.string("interpolation", default: "nearest")
        guard let mode = ResizeMode(rawValue: interpolation) else {
            throw H5ToLiteError("interpolation '\(interpolation)' is not supported")
        }
        // Keras resizes bilinearly with half-pixel centres; for whole-number nearest
        // upsampling both conventions pick the same pixels.
        return try call.emit(.resize(mode, size: [shape[1] * size[0], shape[2] * size[1]],
                                     alignCorners: false, halfPixelCenters: mode == .bilinear), [call.input])
    },
    "Dropout": passThrough(),
    "SpatialDropout1D": passThrough(),
    "SpatialDropout2D": passThrough(),
    "GaussianNoise": passThrough(),
    "GaussianDropout": passThrough(),
    "AlphaDropout": passThrough(),
    "ActivityRegularization": passThrough(),
]

private func importReshape(_ call: LayerCall) throws -> ValueID {
    guard var target = call.config.json["target_shape"]?.array?.compactMap(\.int) else {
        throw H5ToLiteError("field 'target_shape' is missing")
    }
    let shape = try call.inputShape()
    guard target.allSatisfy({ $0 == -1 || $0 > 0 }), target.filter({ $0 == -1 }).count <= 1 else {
        throw H5ToLiteError("target_shape \(target) holds an invalid size")
    }
    let total = elementCount(Array(shape.dropFirst()))
    if let unknown = target.firstIndex(of: -1) {
        let known = target.filter { $0 != -1 }.reduce(1, *)
        guard known > 0, total % known == 0 else { throw H5ToLiteError("cannot reshape \(shape) to \(target)") }
        target[unknown] = total / known
    }
    return try call.emit(.reshape([shape[0]] + target), [call.input])
}
