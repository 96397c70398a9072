import H5ToLiteCore
import H5ToLiteIR

/// How one IR op is spelled in a TFLite file.
struct EncodedOp {
    var code: BuiltinOperator
    var version: Int32 = 1
    var optionsType: BuiltinOptions = .NONE
    /// Writes the options table; nil for ops without options.
    var options: ((inout FlatBufferBuilder) -> FBOffset)?
    /// Operands TFLite takes as int32 constant tensors (shapes, axes, paddings), appended in order.
    var constantOperands: [(shape: [Int], values: [Int32])] = []
    /// TRANSPOSE_CONV takes its constant (the output shape) first and the data input after
    /// the weights: output_shape, weights, input, bias.
    var constantsLead = false

    /// The operator's inputs in TFLite's order, from the IR op's and the constant operands' tensors.
    func operands(_ inputs: [Int32], _ constants: [Int32]) -> [Int32] {
        guard constantsLead else { return inputs + constants }
        return constants + [inputs[1], inputs[0]] + inputs.dropFirst(2)
    }
}

private func activationCode(_ activation: FusedActivation) -> Int8 {
    switch activation {
    case .none: return ActivationFunctionType.NONE.rawValue
    case .relu: return ActivationFunctionType.RELU.rawValue
    case .relu6: return ActivationFunctionType.RELU6.rawValue
    case .reluN1To1: return ActivationFunctionType.RELU_N1_TO_1.rawValue
    case .tanh: return ActivationFunctionType.TANH.rawValue
    }
}

private func paddingCode(_ padding: H5ToLiteIR.Padding) -> Int8 {
    padding == .same ? Padding.SAME.rawValue : Padding.VALID.rawValue
}

private func table(_ fields: @escaping (inout FlatBufferBuilder) -> Void) -> (inout FlatBufferBuilder) -> FBOffset {
    { builder in
        builder.startTable()
        fields(&builder)
        return builder.endTable()
    }
}

/// Only an activation field: ADD, SUB, MUL, DIV, FULLY_CONNECTED share this layout at slot 0.
private func activationOnly(_ activation: FusedActivation) -> (inout FlatBufferBuilder) -> FBOffset {
    table { $0.add(0, activationCode(activation)) }
}

/// The TFLite form of `op`; its version depends on the operand types (float, hybrid, int8).
func encode(_ op: Op, in graph: Graph) throws -> EncodedOp {
    let hybrid = isHybrid(op, in: graph)
    guard var encoded = encodeKind(op.kind, inputShape: graph[op.inputs[0]].shape, outputShape: graph[op.outputs[0]].shape,
                                   hasBias: op.inputs.count > 2, hybrid: hybrid) else {
        throw H5ToLiteError(location: "layer '\(op.origin)'", "op \(op.kind.name) has no TFLite form; a pass must lower it before writing")
    }
    encoded.version = max(encoded.version, quantizedVersion(encoded.code, op, in: graph, hybrid: hybrid))
    return encoded
}

/// Float activations with int8 weights: an op of a dynamic-range file.
private func isHybrid(_ op: Op, in graph: Graph) -> Bool {
    guard let weights = op.kind.facts.weights else { return false }
    return graph[op.inputs[0]].dtype == .float32 && graph[op.inputs[weights.filter]].dtype == .int8
}

/// The TFLite form of an op kind, as a float32 op; nil for the IR's own ops, which TFLite lacks.
private func encodeKind(_ kind: OpKind, inputShape: [Int], outputShape: [Int], hasBias: Bool, hybrid: Bool) -> EncodedOp? {
    let rank = inputShape.count
    switch kind {
    case .conv2d(let w, let a):
        return EncodedOp(code: .CONV_2D, optionsType: .Conv2DOptions, options: table { b in
            b.add(Slot.Conv2DOptions.padding, paddingCode(w.padding))
            b.add(Slot.Conv2DOptions.stride_w, Int32(w.stride[1]))
            b.add(Slot.Conv2DOptions.stride_h, Int32(w.stride[0]))
            b.add(Slot.Conv2DOptions.fused_activation_function, activationCode(a))
            b.add(Slot.Conv2DOptions.dilation_w_factor, Int32(w.dilation[1]), default: 1)
            b.add(Slot.Conv2DOptions.dilation_h_factor, Int32(w.dilation[0]), default: 1)
        })
    case .depthwiseConv2d(let w, let multiplier, let a):
        let dilated = w.dilation != [1, 1]
        return EncodedOp(code: .DEPTHWISE_CONV_2D, version: dilated ? 2 : 1, optionsType: .DepthwiseConv2DOptions, options: table { b in
            b.add(Slot.DepthwiseConv2DOptions.padding, paddingCode(w.padding))
            b.add(Slot.DepthwiseConv2DOptions.stride_w, Int32(w.stride[1]))
            b.add(Slot.DepthwiseConv2DOptions.stride_h, Int32(w.stride[0]))
            b.add(Slot.DepthwiseConv2DOptions.depth_multiplier, Int32(multiplier))
            b.add(Slot.DepthwiseConv2DOptions.fused_activation_function, activationCode(a))
            b.add(Slot.DepthwiseConv2DOptions.dilation_w_factor, Int32(w.dilation[1]), default: 1)
            b.add(Slot.DepthwiseConv2DOptions.dilation_h_factor, Int32(w.dilation[0]), default: 1)
        })
    case .fullyConnected(let a):
        // Dense on a rank-3+ tensor keeps the leading dimensions (version 5).
        let keepDims = rank > 2
        return EncodedOp(code: .FULLY_CONNECTED, version: keepDims ? 5 : 1, optionsType: .FullyConnectedOptions, options: table { b in
            b.add(Slot.FullyConnectedOptions.fused_activation_function, activationCode(a))
            b.add(Slot.FullyConnectedOptions.keep_num_dims, keepDims)
            b.add(Slot.FullyConnectedOptions.asymmetric_quantize_inputs, hybrid)
        })
    case .maxPool(let w, let a), .averagePool(let w, let a):
        let isMax: Bool
        if case .maxPool = kind { isMax = true } else { isMax = false }
        return EncodedOp(code: isMax ? .MAX_POOL_2D : .AVERAGE_POOL_2D, optionsType: .Pool2DOptions, options: table { b in
            b.add(Slot.Pool2DOptions.padding, paddingCode(w.padding))
            b.add(Slot.Pool2DOptions.stride_w, Int32(w.stride[1]))
            b.add(Slot.Pool2DOptions.stride_h, Int32(w.stride[0]))
            b.add(Slot.Pool2DOptions.filter_width, Int32(w.size[1]))
            b.add(Slot.Pool2DOptions.filter_height, Int32(w.size[0]))
            b.add(Slot.Pool2DOptions.fused_activation_function, activationCode(a))
        })
    case .mean(let axes, let keep), .reduceMax(let axes, let keep):
        let isMean: Bool
        if case .mean = kind { isMean = true } else { isMean = false }
        return EncodedOp(code: isMean ? .MEAN : .REDUCE_MAX, optionsType: .ReducerOptions,
                         options: table { $0.add(Slot.ReducerOptions.keep_dims, keep) },
                         constantOperands: [([axes.count], axes.map { Int32($0) })])
    case .binary(let op, let a):
        switch op {
        case .add: return EncodedOp(code: .ADD, optionsType: .AddOptions, options: activationOnly(a))
        case .sub: return EncodedOp(code: .SUB, optionsType: .SubOptions, options: activationOnly(a))
        case .mul: return EncodedOp(code: .MUL, optionsType: .MulOptions, options: activationOnly(a))
        case .div: return EncodedOp(code: .DIV, optionsType: .DivOptions, options: activationOnly(a))
        case .maximum: return EncodedOp(code: .MAXIMUM, optionsType: .MaximumMinimumOptions, options: table { _ in })
        case .minimum: return EncodedOp(code: .MINIMUM, optionsType: .MaximumMinimumOptions, options: table { _ in })
        case .squaredDifference:
            return EncodedOp(code: .SQUARED_DIFFERENCE, optionsType: .SquaredDifferenceOptions, options: table { _ in })
        }
    case .concat(let axis, let a):
        return EncodedOp(code: .CONCATENATION, optionsType: .ConcatenationOptions, options: table { b in
            b.add(Slot.ConcatenationOptions.axis, Int32(axis))
            b.add(Slot.ConcatenationOptions.fused_activation_function, activationCode(a))
        })
    case .pad(let paddings):
        // TFLite's PAD and STRIDED_SLICE take rank-5 tensors (3D volumes) from version 4.
        return EncodedOp(code: .PAD, version: rank > 4 ? 4 : 1, optionsType: .PadOptions, options: table { _ in },
                         constantOperands: [([rank, 2], paddings.flatMap { $0.map { Int32($0) } })])
    case .reshape(let shape):
        // The batch axis stays dynamic, as in the tensors' shape_signature.
        let target = [Int32(-1)] + shape.dropFirst().map { Int32($0) }
        return EncodedOp(code: .RESHAPE, constantOperands: [([shape.count], target)])
    case .transpose(let perm):
        return EncodedOp(code: .TRANSPOSE, optionsType: .TransposeOptions, options: table { _ in },
                         constantOperands: [([perm.count], perm.map { Int32($0) })])
    case .stridedSlice(let begin, let end, let strides):
        // begin_mask/end_mask bit 0 keep the whole (dynamic) batch axis.
        return EncodedOp(code: .STRIDED_SLICE, version: rank > 4 ? 4 : 1, optionsType: .StridedSliceOptions, options: table { b in
            b.add(Slot.StridedSliceOptions.begin_mask, Int32(1))
            b.add(Slot.StridedSliceOptions.end_mask, Int32(1))
        }, constantOperands: [([rank], begin.map { Int32($0) }), ([rank], end.map { Int32($0) }), ([rank], strides.map { Int32($0) })])
    case .softmax(let beta):
        return EncodedOp(code: .SOFTMAX, optionsType: .SoftmaxOptions, options: table { $0.add(Slot.SoftmaxOptions.beta, beta) })
    case .unary(let op):
        switch op {
        case .relu: return EncodedOp(code: .RELU)
        case .relu6: return EncodedOp(code: .RELU6)
        case .reluN1To1: return EncodedOp(code: .RELU_N1_TO_1)
        case .logistic: return EncodedOp(code: .LOGISTIC)
        case .tanh: return EncodedOp(code: .TANH)
        case .elu: return EncodedOp(code: .ELU)
        case .hardSwish: return EncodedOp(code: .HARD_SWISH, optionsType: .HardSwishOptions, options: table { _ in })
        case .rsqrt: return EncodedOp(code: .RSQRT)
        case .gelu, .approximateGelu:
            return EncodedOp(code: .GELU, optionsType: .GeluOptions,
                             options: table { $0.add(Slot.GeluOptions.approximate, op == .approximateGelu) })
        }
    case .leakyRelu(let alpha):
        return EncodedOp(code: .LEAKY_RELU, optionsType: .LeakyReluOptions, options: table { $0.add(Slot.LeakyReluOptions.alpha, alpha) })
    case .prelu:
        return EncodedOp(code: .PRELU)
    case .batchMatMul(let adjointX, let adjointY):
        return EncodedOp(code: .BATCH_MATMUL, optionsType: .BatchMatMulOptions, options: table { b in
            b.add(Slot.BatchMatMulOptions.adj_x, adjointX)
            b.add(Slot.BatchMatMulOptions.adj_y, adjointY)
        })
    case .greater:
        return EncodedOp(code: .GREATER)
    case .select:
        return EncodedOp(code: .SELECT_V2)
    case .resize(let mode, let size, let align, let half):
        let sizeOperand = [([2], size.map { Int32($0) })]
        if mode == .bilinear {
            return EncodedOp(code: .RESIZE_BILINEAR, version: half ? 3 : 1, optionsType: .ResizeBilinearOptions, options: table { b in
                b.add(Slot.ResizeBilinearOptions.align_corners, align)
                b.add(Slot.ResizeBilinearOptions.half_pixel_centers, half)
            }, constantOperands: sizeOperand)
        }
        return EncodedOp(code: .RESIZE_NEAREST_NEIGHBOR, version: half ? 3 : 1, optionsType: .ResizeNearestNeighborOptions,
                         options: table { b in
            b.add(Slot.ResizeNearestNeighborOptions.align_corners, align)
            b.add(Slot.ResizeNearestNeighborOptions.half_pixel_centers, half)
        }, constantOperands: sizeOperand)
    case .quantize:
        return EncodedOp(code: .QUANTIZE)
    case .dequantize:
        return EncodedOp(code: .DEQUANTIZE)
    case .identity, .batchNormalization:
        return nil
    case .transposeConv2d(let w, let size, let a):
        // TFLite's versions: 4 with a fused activation, else 3 with a bias (2 for int8 weights).
        let version: Int32 = a != .none ? 4 : hasBias ? 3 : 1
        return EncodedOp(code: .TRANSPOSE_CONV, version: version, optionsType: .TransposeConvOptions, options: table { b in
            b.add(Slot.TransposeConvOptions.padding, paddingCode(w.padding))
            b.add(Slot.TransposeConvOptions.stride_w, Int32(w.stride[1]))
            b.add(Slot.TransposeConvOptions.stride_h, Int32(w.stride[0]))
            b.add(Slot.TransposeConvOptions.fused_activation_function, activationCode(a))
        }, constantOperands: [([4], [1] + size.map { Int32($0) } + [Int32(outputShape.last ?? 0)])], constantsLead: true)
    case .conv3d(let w, let a):
        return EncodedOp(code: .CONV_3D, optionsType: .Conv3DOptions, options: table { b in
            b.add(Slot.Conv3DOptions.padding, paddingCode(w.padding))
            b.add(Slot.Conv3DOptions.stride_d, Int32(w.stride[0]))
            b.add(Slot.Conv3DOptions.stride_w, Int32(w.stride[2]))
            b.add(Slot.Conv3DOptions.stride_h, Int32(w.stride[1]))
            b.add(Slot.Conv3DOptions.fused_activation_function, activationCode(a))
            b.add(Slot.Conv3DOptions.dilation_d_factor, Int32(w.dilation[0]), default: 1)
            b.add(Slot.Conv3DOptions.dilation_w_factor, Int32(w.dilation[2]), default: 1)
            b.add(Slot.Conv3DOptions.dilation_h_factor, Int32(w.dilation[1]), default: 1)
        })
    }
}

/// Versions TFLite gives ops on quantized operands: int8 activations (full integer), int8
/// weights with float activations (hybrid, from dynamic-range quantization), or float16
/// weights behind DEQUANTIZE.
private func quantizedVersion(_ code: BuiltinOperator, _ op: Op, in graph: Graph, hybrid: Bool) -> Int32 {
    let input = graph[op.inputs[0]].dtype
    if code == .DEQUANTIZE {
        return input == .float16 ? 3 : input == .int8 ? 2 : 1
    }
    if code == .QUANTIZE {
        // Float -> int8 is version 1; requantizing int8 -> int8 or uint8 is version 2.
        return input == .float32 ? 1 : 2
    }
    if hybrid {
        // Hybrid ops with per-channel weight scales; FULLY_CONNECTED also quantizes its
        // input asymmetrically (TensorFlow's current choice, which XNNPACK runs fast).
        switch code {
        case .CONV_2D: return 5
        case .DEPTHWISE_CONV_2D: return 6
        case .FULLY_CONNECTED: return 12
        case .TRANSPOSE_CONV: return 2
        default: return 1
        }
    }
    guard input == .int8 else { return 1 }
    switch code {
    // TensorFlow writes int8 PRELU as version 1, the version LiteRT registers it under.
    case .RESHAPE, .HARD_SWISH, .PRELU: return 1
    case .CONV_2D, .DEPTHWISE_CONV_2D: return 3
    case .FULLY_CONNECTED: return 4
    default: return 2
    }
}

/// Oldest TFLite runtime that runs each (op, version) we write, from TFLite's own table.
func minimumRuntime(_ code: BuiltinOperator, _ version: Int32) -> String {
    switch (code, version) {
    case (.CONV_2D, 1), (.DEPTHWISE_CONV_2D, 1), (.ADD, 1), (.AVERAGE_POOL_2D, 1), (.CONCATENATION, 1),
         (.FULLY_CONNECTED, 1), (.MAX_POOL_2D, 1), (.MUL, 1), (.PAD, 1), (.RESHAPE, 1), (.SOFTMAX, 1),
         (.RELU, 1), (.RELU6, 1), (.RELU_N1_TO_1, 1):
        return "1.5.0"
    case (.SUB, 1), (.DIV, 1), (.MEAN, 1), (.TRANSPOSE, 1), (.STRIDED_SLICE, 1):
        return "1.6.0"
    case (.DEQUANTIZE, 1): return "1.13.1"
    case (.QUANTIZE, 1), (.DEQUANTIZE, 2), (.CONV_2D, 2), (.CONV_2D, 3), (.FULLY_CONNECTED, 3), (.FULLY_CONNECTED, 4),
         (.ADD, 2), (.MUL, 2), (.SUB, 2), (.AVERAGE_POOL_2D, 2), (.MAX_POOL_2D, 2), (.CONCATENATION, 2), (.MEAN, 2),
         (.PAD, 2), (.SOFTMAX, 2), (.LOGISTIC, 2), (.TANH, 2), (.TRANSPOSE, 2), (.STRIDED_SLICE, 2),
         (.MAXIMUM, 2), (.MINIMUM, 2), (.DEPTHWISE_CONV_2D, 3), (.RESIZE_BILINEAR, 2), (.RESIZE_NEAREST_NEIGHBOR, 2):
        return "1.14.0"
    case (.QUANTIZE, 2), (.DEQUANTIZE, 3): return "1.15.0"
    case (.RELU, 2): return "2.1.0"
    case (.DEPTHWISE_CONV_2D, 4): return "2.2.0"
    case (.DEPTHWISE_CONV_2D, 6): return "2.3.0"
    case (.CONV_2D, 5): return "2.4.0"
    case (.FULLY_CONNECTED, 12): return "2.17.0"
    case (.FULLY_CONNECTED, 8): return "2.3.0"
    case (.DENSIFY, 1): return "2.2.0"
    case (.LEAKY_RELU, 2): return "2.3.0"
    case (.REDUCE_MAX, 2): return "1.14.0"
    case (.RELU6, 2): return "1.14.0"
    case (.RESIZE_BILINEAR, 1): return "1.7.0"
    case (.PRELU, 1): return "1.8.0"
    case (.REDUCE_MAX, 1): return "1.11.0"
    case (.DEPTHWISE_CONV_2D, 2): return "1.12.0"
    case (.LEAKY_RELU, 1), (.RESIZE_NEAREST_NEIGHBOR, 1): return "1.13.1"
    case (.MAXIMUM, 1), (.MINIMUM, 1), (.GREATER, 1), (.TANH, 1), (.LOGISTIC, 1), (.ELU, 1): return "1.14.0"
    case (.HARD_SWISH, 1): return "1.15.0"
    case (.SELECT_V2, 1): return "2.2.0"
    case (.RSQRT, 1): return "1.10.0"
    case (.SQUARED_DIFFERENCE, 1): return "1.13.1"
    case (.BATCH_MATMUL, 1): return "2.3.0"
    case (.GELU, 1): return "2.9.0"
    case (.FULLY_CONNECTED, 5): return "2.0.0"
    case (.RESIZE_BILINEAR, 3): return "2.2.0"
    case (.RESIZE_NEAREST_NEIGHBOR, 3): return "2.3.0"
    case (.TRANSPOSE_CONV, 1): return "1.9.0"
    case (.TRANSPOSE_CONV, 2): return "2.2.0"
    case (.TRANSPOSE_CONV, 3): return "2.3.0"
    case (.TRANSPOSE_CONV, 4): return "2.13.0"
    case (.STRIDED_SLICE, 4): return "2.2.0"
    case (.CONV_3D, 1): return "2.5.0"
    case (.PAD, 4): return "2.6.0"
    default: return "1.5.0"
    }
}

/// Compares dotted version strings numerically ("1.14.0" > "1.5.0").
func runtimeVersionLess(_ a: String, _ b: String) -> Bool {
    let left = a.split(separator: ".").map { Int($0) ?? 0 }
    let right = b.split(separator: ".").map { Int($0) ?? 0 }
    return left.lexicographicallyPrecedes(right)
}
