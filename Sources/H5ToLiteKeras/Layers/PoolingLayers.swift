import H5ToLiteCore
import H5ToLiteIR

let poolingLayers: [String: LayerImporter] = [
    "MaxPooling2D": LayerImporter { call in try call.emit(.maxPool(try poolWindow(call.config), .none), [call.input]) },
    "AveragePooling2D": LayerImporter { call in try call.emit(.averagePool(try poolWindow(call.config), .none), [call.input]) },
    "GlobalAveragePooling2D": LayerImporter { call in
        try call.emit(.mean(axes: [1, 2], keepDims: try call.config.bool("keepdims", default: false)), [call.input])
    },
    "GlobalMaxPooling2D": LayerImporter { call in
        try call.emit(.reduceMax(axes: [1, 2], keepDims: try call.config.bool("keepdims", default: false)), [call.input])
    },
]

private func poolWindow(_ config: LayerConfig) throws -> Window {
    let (size, strides, padding) = try poolSettings(config, axes: 2)
    return Window(size: size, stride: strides, padding: padding)
}

/// A pooling layer's window, strides (the window when not given) and padding over `axes`
/// spatial axes; only channels-last data is supported.
func poolSettings(_ config: LayerConfig, axes: Int) throws -> (size: [Int], strides: [Int], padding: Padding) {
    try channelsLast(config)
    let size = try positive(try config.ints("pool_size", count: axes), "pool_size")
    let strides = config.has("strides") ? try positive(try config.ints("strides", count: axes), "strides") : size
    let padding = try config.string("padding", default: "valid")
    guard let pad = Padding(rawValue: padding) else { throw H5ToLiteError("padding '\(padding)' is not supported") }
    return (size, strides, pad)
}

/// Refuses channels-first data by name: h5tolite's ops take channels last, as TFLite's do.
func channelsLast(_ config: LayerConfig) throws {
    let format = try config.string("data_format", default: "channels_last")
    guard format == "channels_last" else { throw H5ToLiteError("data_format '\(format)' is not supported (only channels_last)") }
}
