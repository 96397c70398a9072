import H5ToLiteCore
import H5ToLiteIR

let transposeConvolutionLayers: [String: LayerImporter] = [
    "Conv2DTranspose": LayerImporter(weights: { config in
        [WeightSpec(name: "kernel", trainable: true)]
            + (try config.bool("use_bias", default: true) ? [WeightSpec(name: "bias", trainable: true)] : [])
    }, build: importConv2DTranspose),
]

/// Conv2DTranspose as TRANSPOSE_CONV: the output size is Keras's (deconv_output_length, with
/// output_padding when given); without use_bias TensorFlow writes no bias operand, and neither do we.
private func importConv2DTranspose(_ call: LayerCall) throws -> ValueID {
    let config = call.config
    let size = try positive(try config.ints("kernel_size", count: 2), "kernel_size")
    let input = try call.inputShape(rank: 4)
    let filters = try config.int("filters")
    let window = try window(config)
    guard window.dilation == [1, 1] else {
        throw H5ToLiteError("dilation_rate \(window.dilation) is not supported: TFLite's TRANSPOSE_CONV has no dilation")
    }
    let outputPadding = config.has("output_padding") ? try config.ints("output_padding", count: 2) : nil
    let outputSize = (0..<2).map { axis in
        transposedLength(input[1 + axis], kernel: size[axis], stride: window.stride[axis], padding: window.padding,
                         outputPadding: outputPadding?[axis])
    }
    // Keras HWOI kernel -> TFLite OHWI filter.
    let kernelShape = [size[0], size[1], filters, input[3]]
    let kernel = try call.weight("kernel", shape: kernelShape)
    var filter = [Float](repeating: 0, count: kernel.count)
    for y in 0..<size[0] {
        for x in 0..<size[1] {
            for o in 0..<filters {
                for i in 0..<input[3] {
                    filter[((o * size[0] + y) * size[1] + x) * input[3] + i] = kernel[((y * size[1] + x) * filters + o) * input[3] + i]
                }
            }
        }
    }
    var operands = [call.input, call.constant("kernel", shape: [filters, size[0], size[1], input[3]], filter)]
    if try config.bool("use_bias", default: true) {
        operands.append(call.constant("bias", shape: [filters], try call.weight("bias", shape: [filters])))
    }
    let conv = try call.emit(.transposeConv2d(window, outputSize: outputSize, .none), operands, suffix: activationSuffix(config))
    return try applyActivation(call, try config.string("activation", default: "linear"), to: conv)
}

/// Keras's deconv_output_length for one spatial axis (dilation 1).
private func transposedLength(_ input: Int, kernel: Int, stride: Int, padding: Padding, outputPadding: Int?) -> Int {
    guard let outputPadding else {
        return padding == .same ? input * stride : input * stride + max(kernel - stride, 0)
    }
    let pad = padding == .same ? kernel / 2 : 0
    return (input - 1) * stride + kernel - 2 * pad + outputPadding
}
