import H5ToLiteCore
import H5ToLiteIR

/// Layers over NDHWC volumes (CT and MRI scans). Conv3D is TFLite's CONV_3D; TFLite has no
/// 3D pooling, padding or upsampling ops of its own, so the rest lower to rank-5 PAD and
/// STRIDED_SLICE, reductions, and the 2D ops applied to reshaped volumes.
let volumeLayers: [String: LayerImporter] = [
    "Conv3D": LayerImporter(weights: { config in
        [WeightSpec(name: "kernel", trainable: true)]
            + (try config.bool("use_bias", default: true) ? [WeightSpec(name: "bias", trainable: true)] : [])
    }, build: importConv3D),
    "MaxPooling3D": LayerImporter { call in try importPool3D(call, isMax: true) },
    "AveragePooling3D": LayerImporter { call in try importPool3D(call, isMax: false) },
    "GlobalAveragePooling3D": LayerImporter { call in
        try channelsLast(call.config)
        _ = try call.inputShape(rank: 5)
        return try call.emit(.mean(axes: [1, 2, 3], keepDims: try call.config.bool("keepdims", default: false)), [call.input])
    },
    "GlobalMaxPooling3D": LayerImporter { call in
        try channelsLast(call.config)
        _ = try call.inputShape(rank: 5)
        return try call.emit(.reduceMax(axes: [1, 2, 3], keepDims: try call.config.bool("keepdims", default: false)), [call.input])
    },
    "ZeroPadding3D": LayerImporter { call in
        try channelsLast(call.config)
        let padding = try call.config.pairs("padding", count: 3)
        guard padding.joined().allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw H5ToLiteError("padding must be non-negative") }
        _ = try call.inputShape(rank: 5)
        return try call.emit(.pad([[0, 0]] + padding + [[0, 0]]), [call.input])
    },
    "Cropping3D": LayerImporter { call in
        try channelsLast(call.config)
        let crop = try call.config.pairs("cropping", count: 3)
        let shape = try call.inputShape(rank: 5)
        guard crop.joined().allSatisfy({ $0 >= 0 }), (0..<3).allSatisfy({ crop[$0][0] + crop[$0][1] < shape[1 + $0] }) else {
            throw H5ToLiteError("cropping \(crop) does not fit the input \(shape)")
        }
        return try call.emit(.stridedSlice(begin: [0] + crop.map { $0[0] } + [0],
                                           end: [shape[0]] + (0..<3).map { shape[1 + $0] - crop[$0][1] } + [shape[4]],
                                           strides: [1, 1, 1, 1, 1]), [call.input])
    },
    "UpSampling3D": LayerImporter(build: importUpSampling3D),
    "SpatialDropout3D": passThrough(),
]

/// Conv3D as CONV_3D, whose DHWIO filter is Keras's kernel as stored. Without use_bias the
/// op takes no bias operand, as TensorFlow writes it. TFLite's CONV_3D has no groups.
private func importConv3D(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let groups = try config.int("groups", default: 1)
    guard groups == 1 else { throw H5ToLiteError("groups=\(groups) is not supported: TFLite's CONV_3D has no grouped form") }
    let window = try window(config, axes: 3)
    let size = try positive(try config.ints("kernel_size", count: 3), "kernel_size")
    let channels = try call.inputShape(rank: 5)[4]
    let filters = try positive([try config.int("filters")], "filters")[0]
    let kernelShape = size + [channels, filters]
    var operands = [call.input, call.constant("kernel", shape: kernelShape, try call.weight("kernel", shape: kernelShape))]
    if try config.bool("use_bias", default: true) {
        operands.append(call.constant("bias", shape: [filters], try call.weight("bias", shape: [filters])))
    }
    let conv = try call.emit(.conv3d(window, .none), operands, suffix: activationSuffix(config))
    return try applyActivation(call, try config.string("activation", default: "linear"), to: conv)
}

/// A 3D max or average pool is separable: depth and height are pooled as the rows and
/// columns of an image whose channels are the width's voxels, [N, D, H, W*C], then width
/// with a (1, kw) window on [N, D'*H', W, C]. The batch axis stays the batch (the 2D kernels
/// run one image per batch entry). Exact for max; for average too, SAME padding included,
/// since TFLite's AVERAGE_POOL_2D and TensorFlow's AvgPool3D both divide by the number of
/// window elements inside the input, a product over the axes. A step whose window and
/// stride are 1 is left out.
private func importPool3D(_ call: LayerCall, isMax: Bool) throws -> ValueID {
    let (size, strides, padding) = try poolSettings(call.config, axes: 3)
    let shape = try call.inputShape(rank: 5)
    func pool(_ window: Window) -> OpKind { isMax ? .maxPool(window, .none) : .averagePool(window, .none) }
    var value = call.input
    var volume = Array(shape[1...3])
    let depthHeight = Window(size: [size[0], size[1]], stride: [strides[0], strides[1]], padding: padding)
    if depthHeight.size != [1, 1] || depthHeight.stride != [1, 1] {
        value = try call.emit(.reshape([shape[0], volume[0], volume[1], volume[2] * shape[4]]), [value], suffix: "planes")
        value = try call.emit(pool(depthHeight), [value], suffix: "pool_depth_height")
        (volume[0], volume[1]) = (call.shape(value)[1], call.shape(value)[2])
    }
    let width = Window(size: [1, size[2]], stride: [1, strides[2]], padding: padding)
    if width.size != [1, 1] || width.stride != [1, 1] {
        value = try call.emit(.reshape([shape[0], volume[0] * volume[1], volume[2], shape[4]]), [value], suffix: "rows")
        value = try call.emit(pool(width), [value], suffix: "pool_width")
        volume[2] = call.shape(value)[2]
    }
    return try call.emit(.reshape([shape[0]] + volume + [shape[4]]), [value])
}

/// UpSampling3D repeats each voxel: separable like the pools, as two nearest-neighbour
/// resizes (whole-number factors pick floor(i / factor) with or without half-pixel centres).
private func importUpSampling3D(_ call: LayerCall) throws -> ValueID {
    try channelsLast(call.config)
    let factors = try positive(try call.config.ints("size", count: 3), "size")
    let shape = try call.inputShape(rank: 5)
    let volume = (0..<3).map { shape[1 + $0] * factors[$0] }
    var value = call.input
    if factors[0] != 1 || factors[1] != 1 {
        value = try call.emit(.reshape([shape[0], shape[1], shape[2], shape[3] * shape[4]]), [value], suffix: "planes")
        value = try call.emit(.resize(.nearest, size: [volume[0], volume[1]], alignCorners: false, halfPixelCenters: false),
                              [value], suffix: "resize_depth_height")
    }
    if factors[2] != 1 {
        value = try call.emit(.reshape([shape[0], volume[0] * volume[1], shape[3], shape[4]]), [value], suffix: "rows")
        value = try call.emit(.resize(.nearest, size: [volume[0] * volume[1], volume[2]], alignCorners: false,
                                      halfPixelCenters: false), [value], suffix: "resize_width")
    }
    return try call.emit(.reshape([shape[0]] + volume + [shape[4]]), [value])
}
