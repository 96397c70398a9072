import H5ToLiteCore
import H5ToLiteIR

/// Keras's image preprocessing layers that run at inference time: Normalization, Resizing and
/// CenterCrop (Rescaling lives with the normalization layers).
let preprocessingLayers: [String: LayerImporter] = [
    "Normalization": LayerImporter(weights: normalizationWeights, build: importNormalization),
    "Resizing": LayerImporter(build: importResizing),
    "CenterCrop": LayerImporter(build: importCenterCrop),
]

/// The mean, variance and count variables, stored only when the config gives no mean and variance.
private func normalizationWeights(_ config: LayerConfig) -> [WeightSpec] {
    config.has("mean") ? [] : ["mean", "variance", "count"].map { WeightSpec(name: $0, trainable: false) }
}

/// (x - mean) / max(sqrt(variance), 1e-7), or mean + x * max(sqrt(variance), 1e-7) with
/// `invert`, as both Keras versions compute it; the division becomes a multiply by the
/// reciprocal, which int8 can run. Mean and variance have the input's size on the kept axes
/// and broadcast over the others.
private func importNormalization(_ call: LayerCall) throws -> ValueID {
    let shape = try call.inputShape(minimumRank: 2)
    let rank = shape.count
    let axisJSON = call.config.json["axis"]
    let axes: [Int]
    if let axisJSON, !axisJSON.isNull {
        axes = try Set((axisJSON.array ?? [axisJSON]).map { item in
            guard let axis = item.int, axis >= -rank, axis < rank, axis != 0, axis != -rank else {
                throw H5ToLiteError("normalization axis \(item) is not supported")
            }
            return axis < 0 ? axis + rank : axis
        }).sorted()
    } else {
        axes = []
    }
    // Keras keeps statistics of shape [size of each kept axis]; they broadcast as this shape.
    let statisticsCount = axes.map { shape[$0] }.reduce(1, *)
    let broadcast = axes == [rank - 1] ? [shape[rank - 1]]
        : axes.isEmpty ? [] : (0..<rank).map { axes.contains($0) ? shape[$0] : 1 }
    func statistic(_ key: String) throws -> [Float] {
        if !call.config.has("mean") { return try call.weight(key, shape: axes.map { shape[$0] }) }
        guard let json = call.config.json[key] else { throw H5ToLiteError("field '\(key)' is missing") }
        let values = (json.array ?? [json]).compactMap(\.number).map(Float.init)
        guard values.count == (json.array?.count ?? 1) else { throw H5ToLiteError("field '\(key)' must hold numbers") }
        if values.count == 1 { return Array(repeating: values[0], count: statisticsCount) }
        guard values.count == statisticsCount else {
            throw H5ToLiteError("field '\(key)' holds \(values.count) values, the input has \(statisticsCount) on the normalized axes")
        }
        return values
    }
    let mean = try statistic("mean")
    let deviation = try statistic("variance").map { max($0.squareRoot(), 1e-7) }
    if try call.config.bool("invert", default: false) {
        let scaled = try call.emit(.binary(.mul, .none), [call.input, call.constant("deviation", shape: broadcast, deviation)],
                                   suffix: "scale")
        return try call.emit(.binary(.add, .none), [scaled, call.constant("mean", shape: broadcast, mean)])
    }
    let centred = try call.emit(.binary(.sub, .none), [call.input, call.constant("mean", shape: broadcast, mean)],
                                suffix: "centre")
    return try call.emit(.binary(.mul, .none), [centred, call.constant("inverse_deviation", shape: broadcast, deviation.map { 1 / $0 })])
}

/// tf.image.resize without antialiasing: half-pixel centres for both bilinear and nearest.
private func importResizing(_ call: LayerCall) throws -> ValueID {
    _ = try call.inputShape(rank: 4)
    for option in ["crop_to_aspect_ratio", "pad_to_aspect_ratio", "antialias"] where try call.config.bool(option, default: false) {
        throw H5ToLiteError("Resizing with \(option)=True is not supported")
    }
    let size = try positive([try call.config.int("height"), try call.config.int("width")], "height and width")
    let interpolation = try call.config.string("interpolation", default: "bilinear")
    guard let mode = ResizeMode(rawValue: interpolation) else {
        throw H5ToLiteError("interpolation '\(interpolation)' is not supported (only bilinear and nearest)")
    }
    return try call.emit(.resize(mode, size: size, alignCorners: false, halfPixelCenters: true), [call.input])
}

/// The centred window of the input, offsets rounded down as Keras rounds them.
private func importCenterCrop(_ call: LayerCall) throws -> ValueID {
    let shape = try call.inputShape(rank: 4)
    let size = try positive([try call.config.int("height"), try call.config.int("width")], "height and width")
    guard size[0] <= shape[1], size[1] <= shape[2] else {
        throw H5ToLiteError("CenterCrop to \(size[0])x\(size[1]) of a smaller \(shape[1])x\(shape[2]) input (Keras resizes it) is not supported")
    }
    let top = (shape[1] - size[0]) / 2, left = (shape[2] - size[1]) / 2
    return try call.emit(.stridedSlice(begin: [0, top, left, 0], end: [shape[0], top + size[0], left + size[1], shape[3]],
                                       strides: [1, 1, 1, 1]), [call.input])
}
