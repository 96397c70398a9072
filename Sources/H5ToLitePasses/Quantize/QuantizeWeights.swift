import H5ToLiteIR

/// `--quantize dynamic`: conv, depthwise and dense weights become int8, symmetric in
/// [-127, 127] with zero point 0, one scale per output channel (CONV_2D and
/// FULLY_CONNECTED axis 0, DEPTHWISE_CONV_2D axis 3), as TensorFlow writes them.
/// Activations stay float32; TFLite quantizes them on the fly. Weights under 1024
/// elements stay float, as TensorFlow leaves them: the saving is negligible and their
/// error is not. Transposed convolutions stay float (see `WeightOperands.dynamicRange`).
///
///     const %1 "dense/kernel": f32[2,1024] {...}
///     %3 "dense": f32[1,2] = fully_connected(%0, %1, %2)
///   ->
///     const %4 "dense/kernel": i8[2,1024] quant(scale=[0.0031, 0.0027], zero_point=[0, 0], axis=0) {...}
///     %3 "dense": f32[1,2] = fully_connected(%0, %4, %2)
let quantizeWeights = Pass(name: "quantize-weights",
                           summary: "int8 weights with float activations (--quantize dynamic)") { graph, _ in
    for index in graph.ops.indices {
        guard let operands = graph.ops[index].kind.facts.weights, operands.dynamicRange else { continue }
        let weights = graph[graph.ops[index].inputs[operands.filter]]
        guard let floats = weights.constant?.floats, floats.count >= 1024 else { continue }
        let (data, quantization) = symmetricInt8(floats, shape: weights.shape, axis: operands.channelAxis)
        graph.ops[index].inputs[operands.filter] = graph.addConstant(name: weights.name, shape: weights.shape,
                                                                     data: .int8(data), quantization: quantization)
    }
}

/// Symmetric int8 quantization in [-127, 127], per slice along `axis` or per tensor when
/// `axis` is nil, rounding w * (1 / scale) half away from zero as TensorFlow does.
func symmetricInt8(_ values: [Float], shape: [Int], axis: Int?) -> ([Int8], Quantization) {
    let channels = axis.map { shape[$0] } ?? 1
    let inner = axis.map { shape[($0 + 1)...].reduce(1, *) } ?? values.count
    let channelOf: (Int) -> Int = { index in axis == nil ? 0 : (index / inner) % channels }
    var maxima = [Float](repeating: 0, count: channels)
    for (index, value) in values.enumerated() {
        maxima[channelOf(index)] = max(maxima[channelOf(index)], abs(value))
    }
    // An all-zero channel still needs a positive scale for the file to be valid.
    let scales = maxima.map { $0 > 0 ? $0 / 127 : 1 }
    let reciprocals = scales.map { 1 / $0 }
    let quantized = values.enumerated().map { index, value -> Int8 in
        Int8(max(-127, min(127, (value * reciprocals[channelOf(index)]).rounded())))
    }
    return (quantized, Quantization(scales: scales, zeroPoints: Array(repeating: 0, count: channels), axis: axis ?? 0))
}
