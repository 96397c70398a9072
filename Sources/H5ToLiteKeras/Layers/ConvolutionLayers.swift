import H5ToLiteCore
import H5ToLiteIR

@Sendable private func kernelAndBias(_ config: LayerConfig) throws -> [WeightSpec] {
    [WeightSpec(name: "kernel", trainable: true)]
        + (try config.bool("use_bias", default: true) ? [WeightSpec(name: "bias", trainable: true)] : [])
}

let convolutionLayers: [String: LayerImporter] = [
    "Conv2D": LayerImporter(weights: kernelAndBias, build: importConv2D),
    "DepthwiseConv2D": LayerImporter(weights: { config in
        [WeightSpec(name: "depthwise_kernel", trainable: true)]
            + (try config.bool("use_bias", default: true) ? [WeightSpec(name: "bias", trainable: true)] : [])
    }, build: importDepthwiseConv2D),
    "SeparableConv2D": LayerImporter(weights: { config in
        [WeightSpec(name: "depthwise_kernel", trainable: true), WeightSpec(name: "pointwise_kernel", trainable: true)]
            + (try config.bool("use_bias", default: true) ? [WeightSpec(name: "bias", trainable: true)] : [])
    }, build: importSeparableConv2D),
    "Dense": LayerImporter(weights: kernelAndBias, build: importDense),
]

/// Window settings shared by the convolution layers over `axes` spatial axes (3 for Conv3D);
/// only channels-last data is supported.
func window(_ config: LayerConfig, axes: Int = 2) throws -> Window {
    try channelsLast(config)
    let padding = try config.string("padding", default: "valid")
    guard let pad = Padding(rawValue: padding) else { throw H5ToLiteError("padding '\(padding)' is not supported") }
    let window = Window(stride: try config.ints("strides", count: axes), dilation: try config.ints("dilation_rate", count: axes),
                        padding: pad)
    guard (window.stride + window.dilation).allSatisfy({ $0 > 0 }) else {
        throw H5ToLiteError("strides and dilation_rate must be positive")
    }
    return window
}

/// The layer's bias, or zeros: TFLite's convolution kernels require a bias operand.
private func optionalBias(_ call: LayerCall, count: Int) throws -> [ValueID] {
    guard try call.config.bool("use_bias", default: true) else {
        return [call.constant("bias", shape: [count], [Float](repeating: 0, count: count))]
    }
    return [call.constant("bias", shape: [count], try call.weight("bias", shape: [count]))]
}

/// Keras HWIO kernel -> TFLite OHWI filter.
func hwioToOhwi(_ kernel: [Float], _ shape: [Int]) -> [Float] {
    let (h, w, i, o) = (shape[0], shape[1], shape[2], shape[3])
    var result = [Float](repeating: 0, count: kernel.count)
    for y in 0..<h {
        for x in 0..<w {
            for c in 0..<i {
                let source = ((y * w + x) * i + c) * o
                for n in 0..<o {
                    result[((n * h + y) * w + x) * i + c] = kernel[source + n]
                }
            }
        }
    }
    return result
}

private func importConv2D(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let size = try positive(try config.ints("kernel_size", count: 2), "kernel_size")
    let channels = try call.inputShape(rank: 4)[3]
    let filters = try config.int("filters")
    let groups = try config.int("groups", default: 1)
    if groups == channels && groups > 1 && filters % channels == 0 {
        return try importGroupPerChannel(call, size: size, channels: channels, multiplier: filters / channels)
    }
    guard groups == 1 else { throw H5ToLiteError("grouped convolutions are not supported (except one group per input channel)") }
    let kernelShape = [size[0], size[1], channels, filters]
    let filter = call.constant("kernel", shape: [filters, size[0], size[1], channels],
                               hwioToOhwi(try call.weight("kernel", shape: kernelShape), kernelShape))
    let conv = try call.emit(.conv2d(try window(config), .none), [call.input, filter] + optionalBias(call, count: filters),
                             suffix: activationSuffix(config))
    return try applyActivation(call, try config.string("activation", default: "linear"), to: conv)
}

/// Conv2D with one group per input channel (ConvNeXt's 7x7) is a depthwise convolution: its
/// kernel [h, w, 1, channels * multiplier] has the depthwise filter's memory order.
private func importGroupPerChannel(_ call: LayerCall, size: [Int], channels: Int, multiplier: Int) throws -> ValueID {
    try emitDepthwise(call, weight: "kernel", kernelShape: [size[0], size[1], 1, channels * multiplier], multiplier: multiplier)
}

private func importDepthwiseConv2D(_ call: LayerCall) throws -> ValueID {
    let size = try positive(try call.config.ints("kernel_size", count: 2), "kernel_size")
    let channels = try call.inputShape(rank: 4)[3]
    let multiplier = try positive([try call.config.int("depth_multiplier", default: 1)], "depth_multiplier")[0]
    // Keras [h, w, in, multiplier] and TFLite [1, h, w, in * multiplier] share one memory order.
    return try emitDepthwise(call, weight: "depthwise_kernel", kernelShape: [size[0], size[1], channels, multiplier],
                             multiplier: multiplier)
}

/// A depthwise convolution with its bias and activation, from the stored kernel `weight`
/// (shaped `kernelShape` in the file), whose memory order is the TFLite filter's.
private func emitDepthwise(_ call: LayerCall, weight: String, kernelShape: [Int], multiplier: Int) throws -> ValueID {
    let config = call.config
    let outputs = kernelShape[2] * kernelShape[3]
    let filter = call.constant(weight, shape: [1, kernelShape[0], kernelShape[1], outputs], try call.weight(weight, shape: kernelShape))
    let conv = try call.emit(.depthwiseConv2d(try window(config), multiplier: multiplier, .none),
                             [call.input, filter] + optionalBias(call, count: outputs), suffix: activationSuffix(config))
    return try applyActivation(call, try config.string("activation", default: "linear"), to: conv)
}

private func importSeparableConv2D(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let size = try positive(try config.ints("kernel_size", count: 2), "kernel_size")
    let channels = try call.inputShape(rank: 4)[3]
    let multiplier = try positive([try config.int("depth_multiplier", default: 1)], "depth_multiplier")[0]
    let filters = try config.int("filters")
    let depthwise = try call.weight("depthwise_kernel", shape: [size[0], size[1], channels, multiplier])
    let depthwiseFilter = call.constant("depthwise_kernel", shape: [1, size[0], size[1], channels * multiplier], depthwise)
    let zeros = call.constant("depthwise_bias", shape: [channels * multiplier], [Float](repeating: 0, count: channels * multiplier))
    let spatial = try call.emit(.depthwiseConv2d(try window(config), multiplier: multiplier, .none),
                                [call.input, depthwiseFilter, zeros], suffix: "depthwise")
    let pointwiseShape = [1, 1, channels * multiplier, filters]
    let pointwise = call.constant("pointwise_kernel", shape: [filters, 1, 1, channels * multiplier],
                                  hwioToOhwi(try call.weight("pointwise_kernel", shape: pointwiseShape), pointwiseShape))
    let conv = try call.emit(.conv2d(Window(padding: .valid), .none), [spatial, pointwise] + optionalBias(call, count: filters),
                             suffix: activationSuffix(config))
    return try applyActivation(call, try config.string("activation", default: "linear"), to: conv)
}

private func importDense(_ call: LayerCall) throws -> ValueID {
    let units = try call.config.int("units")
    let inputs = try call.inputShape(minimumRank: 2).last!
    let kernel = try call.weight("kernel", shape: [inputs, units])
    // Keras stores [in, out]; FULLY_CONNECTED wants [out, in].
    var transposed = [Float](repeating: 0, count: kernel.count)
    for i in 0..<inputs {
        for o in 0..<units { transposed[o * inputs + i] = kernel[i * units + o] }
    }
    let weights = call.constant("kernel", shape: [units, inputs], transposed)
    let dense = try call.emit(.fullyConnected(.none), [call.input, weights] + optionalBias(call, count: units),
                              suffix: activationSuffix(call.config))
    return try applyActivation(call, try call.config.string("activation", default: "linear"), to: dense)
}

/// The op before a separate activation op gets a suffixed name, so the layer's own name
/// stays on the layer's final output.
func activationSuffix(_ config: LayerConfig) -> String? {
    let activation = (try? config.string("activation", default: "linear")) ?? "linear"
    return activation == "linear" ? nil : "pre_activation"
}

/// Sizes from a config, which must be positive for the arithmetic that follows.
func positive(_ values: [Int], _ field: String) throws -> [Int] {
    guard values.allSatisfy({ $0 > 0 && $0 < 1 << 20 }) else { throw H5ToLiteError("field '\(field)' must hold positive sizes, got \(values)") }
    return values
}
