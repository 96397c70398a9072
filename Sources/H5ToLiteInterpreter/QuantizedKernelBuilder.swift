import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Which family of kernels runs an op, from the types of its operands.
enum KernelFamily {
    case float
    /// int8 activations (and QUANTIZE, DEQUANTIZE of activations).
    case integer
    /// float activations with int8 weights (dynamic-range files).
    case hybrid

    init(_ op: Op, in graph: Graph) {
        let data = graph[op.inputs[op.kind == .select ? 1 : 0]]
        if op.kind.isConversion {
            self = .integer
        } else if let weights = op.kind.facts.weights {
            if data.dtype == .float32 && graph[op.inputs[weights.filter]].dtype == .int8 {
                self = .hybrid
            } else {
                self = data.dtype == .float32 ? .float : .integer
            }
        } else {
            self = data.dtype == .int8 || data.dtype == .uint8 ? .integer : .float
        }
    }
}

/// The integer kernel that runs `op`.
func makeIntegerKernel(_ op: Op, in graph: Graph, threads: Int) throws -> any Kernel {
    let input = graph[op.inputs[op.kind == .select ? 1 : 0]]
    let output = graph[op.outputs[0]]
    let count = elementCount(output.shape)
    switch op.kind {
    case .quantize:
        try expect(op, graph, inputs: [.float32, .int8, .uint8], output: [.int8, .uint8])
        return QuantizeKernel(count: count, input: input, output: output)
    case .dequantize:
        try expect(op, graph, inputs: [.int8, .uint8], output: [.float32])
        return DequantizeKernel(count: count, inputType: input.dtype, parameters: AffineParameters(input.quantization!))
    case .reshape, .identity:
        try expectSameType(op, graph)
        return CopyKernel<Int8>(count: count)
    case .transpose(let perm):
        try expectSameType(op, graph)
        return StridedCopyKernel<Int8>.transpose(input: input.shape, perm: perm)
    case .stridedSlice(let begin, _, let strides):
        try expectSameType(op, graph)
        return StridedCopyKernel<Int8>.slice(input: input.shape, begin: begin, strides: strides, output: output.shape)
    case .pad(let paddings):
        try expectSameType(op, graph)
        // TFLite pads quantized tensors with the output's zero point: real zero.
        let fill = UInt8(truncatingIfNeeded: output.quantization!.zeroPoints[0])
        return StridedCopyKernel<UInt8>.pad(input: input.shape, paddings: paddings, fill: fill)
    case .concat(let axis, let activation):
        try expectSameType(op, graph)
        guard activation == .none else { throw unsupported(op, "with a fused activation") }
        return IntegerConcatKernel(rows: elementCount(Array(output.shape[..<axis])),
                                   blocks: op.inputs.map { elementCount(Array(graph[$0].shape[axis...])) },
                                   inputs: op.inputs.map { graph[$0] }, output: output)
    case .select:
        try expect(op, graph, inputs: [.int8, .uint8], output: [input.dtype])
        let other = graph[op.inputs[2]]
        guard other.dtype == input.dtype, other.quantization == input.quantization else {
            throw unsupported(op, "choosing between values of different types or quantization")
        }
        return SelectKernel<Int8>(condition: graph[op.inputs[0]].shape, x: input.shape, y: graph[op.inputs[2]].shape,
                                  output: output.shape)
    case .resize(let mode, let size, let alignCorners, let halfPixelCenters):
        try expectSameType(op, graph)
        guard mode == .nearest || input.dtype == .int8 else { throw unsupported(op, "on uint8 values") }
        return IntegerResizeKernel(mode: mode, input: input.shape, size: size, alignCorners: alignCorners,
                                   halfPixelCenters: halfPixelCenters)
    default:
        try expect(op, graph, inputs: [.int8], output: op.kind == .greater ? [.bool] : [.int8])
        return try makeInt8ArithmeticKernel(op, in: graph, threads: threads)
    }
}

/// The kernels that compute on int8 values rather than move them.
private func makeInt8ArithmeticKernel(_ op: Op, in graph: Graph, threads: Int) throws -> any Kernel {
    let input = graph[op.inputs[0]]
    let output = graph[op.outputs[0]]
    let count = elementCount(output.shape)
    let inputParameters = AffineParameters(input.quantization!)
    let outputParameters = op.kind == .greater ? inputParameters : AffineParameters(output.quantization!)
    switch op.kind {
    case .conv2d, .depthwiseConv2d, .fullyConnected, .transposeConv2d:
        return try makeIntegerConvolution(op, in: graph, input: .int8(zeroPoint: inputParameters.zeroPoint), threads: threads)
    case .maxPool(let window, let activation), .averagePool(let window, let activation):
        guard inputParameters == outputParameters else { throw unsupported(op, "whose input and output quantization differ") }
        var isMax = false
        if case .maxPool = op.kind { isMax = true }
        return IntegerPoolKernel(geometry: WindowGeometry(input: input.shape, output: output.shape, kernel: window.size, window: window),
                                 isMax: isMax, bounds: try activationBounds(activation, outputParameters, .int8), threads: threads)
    case .mean(let axes, _):
        return IntegerReduceKernel(isMax: false, input: input, output: output, axes: axes)
    case .reduceMax(let axes, _):
        return IntegerReduceKernel(isMax: true, input: input, output: output, axes: axes)
    case .prelu:
        let alpha = graph[op.inputs[1]]
        guard alpha.dtype == .int8, let quantization = alpha.quantization, quantization.scales.count == 1 else {
            throw unsupported(op, "unless its alpha is int8 with one scale")
        }
        let kernel = try QuantizedBinaryKernel(op.kind, left: input, right: alpha, output: output, threads: threads)
        // A constant alpha shared over all but the last axis runs as a table.
        return constantOperandKernel(op, graph, kernel, threads: threads) ?? kernel
    case .binary, .greater:
        let kernel = try QuantizedBinaryKernel(op.kind, left: input, right: graph[op.inputs[1]], output: output, threads: threads)
        if case .binary = op.kind, let table = constantOperandKernel(op, graph, kernel, threads: threads) { return table }
        return kernel
    case .softmax(let beta):
        let depth = output.shape.last ?? 1
        return IntegerSoftmaxKernel(rows: count / max(depth, 1), depth: depth, beta: beta, input: inputParameters, output: outputParameters)
    case .unary(.logistic):
        return LookupTableKernel(count: count, input: inputParameters, output: outputParameters, logistic)
    case .unary(.tanh):
        return LookupTableKernel(count: count, input: inputParameters, output: outputParameters, tanh)
    case .unary(.relu):
        return IntegerReluKernel(count: count, lower: 0, upper: nil, input: inputParameters, output: outputParameters)
    case .unary(.relu6):
        return IntegerReluKernel(count: count, lower: 0, upper: 6, input: inputParameters, output: outputParameters)
    case .unary(.reluN1To1):
        return IntegerReluKernel(count: count, lower: -1, upper: 1, input: inputParameters, output: outputParameters)
    case .unary(.hardSwish):
        return try IntegerHardSwishKernel(count: count, input: inputParameters, output: outputParameters)
    case .batchMatMul(let adjointX, let adjointY):
        return IntegerBatchMatMulKernel(x: input, y: graph[op.inputs[1]], output: output, adjointX: adjointX, adjointY: adjointY)
    case .unary(.rsqrt):
        return LookupTableKernel(count: count, table: rsqrtTable(input: inputParameters, output: outputParameters))
    case .unary(.gelu):
        return LookupTableKernel(count: count, input: inputParameters, output: outputParameters, gelu)
    case .unary(.approximateGelu):
        return LookupTableKernel(count: count, input: inputParameters, output: outputParameters, approximateGelu)
    case .leakyRelu(let alpha):
        return IntegerLeakyReluKernel(count: count, alpha: alpha, input: inputParameters, output: outputParameters)
    default:
        throw unsupported(op, "on int8 values")
    }
}

/// A binary op whose other operand is an int8 constant along the last axis: ADD, SUB (of the
/// constant) and MUL run as vectorized integer arithmetic; any other op as a table built once
/// with the interpreter, which pays off over the runs (images) it serves even where one run
/// reads each row fewer than 256 times.
private func constantOperandKernel(_ op: Op, _ graph: Graph, _ kernel: QuantizedBinaryKernel, threads: Int) -> (any Kernel)? {
    let output = graph[op.outputs[0]]
    guard let constantIndex = op.inputs.firstIndex(where: graph.isConstant), !graph.isConstant(op.inputs[1 - constantIndex]),
          graph[op.inputs[1 - constantIndex]].shape == output.shape,
          case .int8(let values) = graph[op.inputs[constantIndex]].constant else { return nil }
    let shape = Array(graph[op.inputs[constantIndex]].shape.drop { $0 == 1 })
    let width = values.count
    let count = elementCount(output.shape)
    guard shape.isEmpty || shape == [output.shape.last ?? 0] else { return nil }
    if let channels = ChannelOperationKernel(kernel, constants: values, constantIsLeft: constantIndex == 0, count: count, threads: threads) {
        return channels
    }
    let table = kernel.table(against: values.map(Int32.init), constantIsLeft: constantIndex == 0)
    return ConstantOperandKernel(table: table, width: width, count: count, variable: 1 - constantIndex, threads: threads)
}

/// The hybrid kernel (float activations, int8 weights) that runs `op`, with
/// LiteRT's default arithmetic: CONV_2D and FULLY_CONNECTED go to its XNNPACK
/// delegate, which quantizes the input its own way; DEPTHWISE_CONV_2D, which
/// XNNPACK does not take with int8 weights, runs TFLite's built-in kernel.
func makeHybridKernel(_ op: Op, in graph: Graph, threads: Int) throws -> any Kernel {
    try expect(op, graph, inputs: [.float32], output: [.float32])
    if case .conv3d = op.kind { throw unsupported(op, "with int8 weights (TFLite's CONV_3D runs float32 only)") }
    if case .depthwiseConv2d = op.kind {
        return try makeIntegerConvolution(op, in: graph, input: .asymmetric, threads: threads)
    }
    return try makeIntegerConvolution(op, in: graph, input: .xnnpack, threads: threads)
}

/// CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED on integers, with int8 or
/// float outputs.
private func makeIntegerConvolution(_ op: Op, in graph: Graph, input: IntegerInput, threads: Int) throws -> any Kernel {
    let shapes = op.inputs.map { graph[$0].shape }
    let operands = op.kind.facts.weights!
    let filter = graph[op.inputs[operands.filter]]
    let output = graph[op.outputs[0]]
    let hasBias = op.inputs.count > operands.bias
    let channels = filter.shape[operands.channelAxis]
    try checkIntegerWeights(op, graph, operands)
    let stage = try outputStage(op, graph, filter: filter, channels: channels)
    let weights = try centredWeights(graph, op.inputs[operands.filter])
    if case .int8(let zeroPoint) = input, case .int8(let multipliers, let outputZeroPoint, let bounds) = stage,
       op.kind.isProduct {
        let bias = hasBias ? graph[op.inputs[operands.bias]].constant : nil
        guard !hasBias || bias?.dtype == .int32 else { throw unsupported(op, "unless its bias is an int32 constant") }
        var biasValues: [Int32]?
        if case .int32(let values) = bias { biasValues = values }
        var window: WindowGeometry?
        if case .conv2d(let convolution, _) = op.kind {
            window = WindowGeometry(input: shapes[0], output: output.shape, kernel: [filter.shape[1], filter.shape[2]], window: convolution)
        }
        let product = IntegerProduct(window: window, units: channels, inputCount: elementCount(shapes[0]),
                                     weights: weights.map { Int16($0) }, bias: biasValues, inputZeroPoint: zeroPoint, layout: nil,
                                     threads: threads)
        return IntegerProductKernel(product: product, inputZeroPoint: zeroPoint,
                                    requantization: Requantization(multipliers, outputZeroPoint: outputZeroPoint, bounds: bounds))
    }
    if case .int8(let zeroPoint) = input, case .int8(let multipliers, let outputZeroPoint, let bounds) = stage,
       case .depthwiseConv2d(let window, let multiplier, _) = op.kind {
        var biasValues: [Int32]?
        if hasBias {
            guard case .int32(let values) = graph[op.inputs[operands.bias]].constant else { throw unsupported(op, "unless its bias is an int32 constant") }
            biasValues = values
        }
        let geometry = WindowGeometry(input: shapes[0], output: output.shape, kernel: [filter.shape[1], filter.shape[2]], window: window)
        return Int8DepthwiseKernel(windows: DepthwiseWindows(geometry, multiplier: multiplier), weights: weights,
                                   bias: biasValues, inputZeroPoint: zeroPoint,
                                   requantization: Requantization(multipliers, outputZeroPoint: outputZeroPoint, bounds: bounds),
                                   threads: threads)
    }
    if op.kind.isProduct {
        var window: WindowGeometry?
        if case .conv2d(let convolution, _) = op.kind {
            window = WindowGeometry(input: shapes[0], output: output.shape, kernel: [filter.shape[1], filter.shape[2]], window: convolution)
        }
        guard case .float(let weightScales, let activation, let order) = stage else { throw unsupported(op, "with this input and output") }
        return HybridProductKernel(window: window, units: channels, inputCount: elementCount(shapes[0]), weights: weights.map { Int16($0) },
                                   input: input, weightScales: weightScales, activation: activation, order: order, hasBias: hasBias,
                                   threads: threads)
    }
    switch op.kind {
    case .depthwiseConv2d(let window, let multiplier, _):
        guard case .float(let weightScales, let activation, let order) = stage else { throw unsupported(op, "with this input and output") }
        let geometry = WindowGeometry(input: shapes[0], output: output.shape, kernel: [filter.shape[1], filter.shape[2]], window: window)
        return IntegerDepthwiseKernel(windows: DepthwiseWindows(geometry, multiplier: multiplier), imageCount: elementCount(shapes[0]),
                                      weights: weights, input: input, weightScales: weightScales,
                                      activation: activation, order: order, hasBias: hasBias, threads: threads)
    case .transposeConv2d(let window, _, _):
        guard case .int8(let zeroPoint) = input, case .int8(let multipliers, let outputZeroPoint, let bounds) = stage,
              zeroPoints(filter).allSatisfy({ $0 == 0 }) else {
            throw unsupported(op, "unless its activations are int8 and its weights symmetric (no hybrid TRANSPOSE_CONV yet)")
        }
        return IntegerTransposeConvolutionKernel(geometry: TransposeGeometry(input: shapes[0], filter: filter.shape, output: output.shape, window: window),
                                                 inputZeroPoint: zeroPoint, weights: weights, multipliers: multipliers,
                                                 outputZeroPoint: outputZeroPoint, bounds: bounds, hasBias: hasBias)
    default:
        throw unsupported(op, "on integers")
    }
}

/// Per-channel requantization for int8 outputs (multiplier s_in * s_w[c] / s_out,
/// computed in double as TFLite does), or the weight scales for float outputs.
private func outputStage(_ op: Op, _ graph: Graph, filter: Value, channels: Int) throws -> IntegerOutput {
    let input = graph[op.inputs[0]], output = graph[op.outputs[0]]
    let weightScales = perChannel(filter.quantization!.scales, channels)
    let activation = op.kind.fusedActivation ?? .none
    guard output.dtype == .int8 else {
        return .float(scales: weightScales, activation: activation, order: op.kind.isDepthwise ? .tfliteDepthwise : .xnnpack)
    }
    let inputScale = Double(input.quantization!.scales[0]), outputParameters = AffineParameters(output.quantization!)
    let multipliers = weightScales.map { QuantizedMultiplier(inputScale * Double($0) / Double(outputParameters.scale)) }
    return .int8(multipliers: multipliers, zeroPoint: outputParameters.zeroPoint,
                 bounds: try activationBounds(activation, outputParameters, .int8))
}

/// Int8 weights with one scale per output channel (or one for all), and, for
/// int8 activations, an int32 bias; hybrid ops keep a float bias.
private func checkIntegerWeights(_ op: Op, _ graph: Graph, _ operands: WeightOperands) throws {
    let filter = graph[op.inputs[operands.filter]]
    let channelAxis = operands.channelAxis
    let channels = filter.shape[channelAxis]
    guard filter.dtype == .int8, filter.constant != nil, let quantization = filter.quantization,
          quantization.scales.count == 1 || (quantization.scales.count == channels && quantization.axis == channelAxis) else {
        throw unsupported(op, "unless its weights are an int8 constant with one scale, or one per output channel (axis \(channelAxis))")
    }
    guard op.inputs.count > operands.bias else { return }
    let bias = graph[op.inputs[operands.bias]]
    let expected: DType = graph[op.inputs[0]].dtype == .float32 ? .float32 : .int32
    guard bias.dtype == expected, bias.shape == [channels] else {
        throw unsupported(op, "with a \(bias.dtype) bias of shape \(bias.shape) (expected \(expected) [\(channels)])")
    }
}

private func perChannel(_ scales: [Float], _ channels: Int) -> [Float] {
    scales.count == 1 ? Array(repeating: scales[0], count: channels) : scales
}

private extension OpKind {
    /// CONV_2D and FULLY_CONNECTED: the ops IntegerProductKernel runs.
    var isProduct: Bool {
        switch self {
        case .conv2d, .fullyConnected: return true
        default: return false
        }
    }

    var isDepthwise: Bool {
        if case .depthwiseConv2d = self { return true }
        return false
    }
}

/// Checks the element types of an op's data input and output.
func expect(_ op: Op, _ graph: Graph, inputs: [DType], output: [DType]) throws {
    let input = graph[op.inputs[op.kind == .select ? 1 : 0]].dtype
    let result = graph[op.outputs[0]].dtype
    guard inputs.contains(input), output.contains(result) else {
        throw unsupported(op, "from \(input) to \(result)")
    }
}

/// Ops that move 8-bit values keep their type.
private func expectSameType(_ op: Op, _ graph: Graph) throws {
    let dtype = graph[op.inputs[0]].dtype
    guard op.inputs.allSatisfy({ graph[$0].dtype == dtype }), graph[op.outputs[0]].dtype == dtype else {
        throw unsupported(op, "mixing \(op.inputs.map { graph[$0].dtype }) into \(graph[op.outputs[0]].dtype)")
    }
}

func unsupported(_ op: Op, _ detail: String) -> H5ToLiteError {
    H5ToLiteError("op \(op.kind.name) from \(op.origin) is not supported \(detail)")
}
