import H5ToLiteCore
import H5ToLiteIR

/// Turns each TFLite operator into IR ops. Operands TFLite holds as constant
/// tensors (paddings, shapes, axes, sizes, permutations) become attributes.
extension TFLiteGraphReader {
    mutating func readOperator(_ op: OperatorEntry) throws {
        if try foldIntegers(op) { return }
        switch op.code {
        case .CONV_2D, .DEPTHWISE_CONV_2D: try readConvolution(op)
        case .FULLY_CONNECTED: try readFullyConnected(op)
        case .AVERAGE_POOL_2D, .MAX_POOL_2D: try readPool(op)
        case .MEAN, .REDUCE_MAX: try readReduction(op)
        case .CONCATENATION: try readConcatenation(op)
        case .ADD, .SUB, .MUL, .DIV, .MAXIMUM, .MINIMUM, .SQUARED_DIFFERENCE: try readBinary(op)
        case .PAD, .PADV2: try readPad(op)
        case .RESHAPE, .EXPAND_DIMS, .SQUEEZE: try readReshape(op)
        case .TRANSPOSE:
            try op.expectInputs(2...2)
            let perm = try ints(try op.input(1)).values
            try emit(.transpose(perm), [try value(try op.input(0))], output: try op.output)
        case .SOFTMAX:
            let beta = try op.options(.SoftmaxOptions).float(Slot.SoftmaxOptions.beta, default: 0)
            try emitUnary(op, .softmax(beta: beta))
        case .LOGISTIC: try emitUnary(op, .unary(.logistic))
        case .TANH: try emitUnary(op, .unary(.tanh))
        case .RELU: try emitUnary(op, .unary(.relu))
        case .RELU6: try emitUnary(op, .unary(.relu6))
        case .RELU_N1_TO_1: try emitUnary(op, .unary(.reluN1To1))
        case .ELU: try emitUnary(op, .unary(.elu))
        case .HARD_SWISH: try emitUnary(op, .unary(.hardSwish))
        case .RSQRT: try emitUnary(op, .unary(.rsqrt))
        case .SQUARE:
            // x^2 is exactly x * x, and TFLite's int8 SQUARE rescales as its int8 MUL does.
            try op.expectInputs(1...1)
            let input = try value(try op.input(0))
            try emit(.binary(.mul, .none), [input, input], output: try op.output)
        case .GELU:
            let approximate = try op.options(.GeluOptions).bool(Slot.GeluOptions.approximate, default: false)
            try emitUnary(op, .unary(approximate ? .approximateGelu : .gelu))
        case .BATCH_MATMUL:
            let options = try op.options(.BatchMatMulOptions)
            try emitBinary(op, .batchMatMul(adjointX: try options.bool(Slot.BatchMatMulOptions.adj_x, default: false),
                                            adjointY: try options.bool(Slot.BatchMatMulOptions.adj_y, default: false)))
        case .LEAKY_RELU:
            let alpha = try op.options(.LeakyReluOptions).float(Slot.LeakyReluOptions.alpha, default: 0)
            try emitUnary(op, .leakyRelu(alpha: alpha))
        case .PRELU:
            try emitBinary(op, .prelu)
        case .NEG:
            // -x is exactly x * -1.
            try op.expectInputs(1...1)
            let input = try value(try op.input(0))
            guard graph[input].dtype == .float32 else { throw H5ToLiteError("NEG of \(graph[input].dtype) is not supported") }
            let minusOne = addScalar(-1, for: try op.output, suffix: "minus_one")
            try emit(.binary(.mul, .none), [input, minusOne], output: try op.output)
        case .RESIZE_BILINEAR, .RESIZE_NEAREST_NEIGHBOR: try readResize(op)
        case .STRIDED_SLICE: try readStridedSlice(op)
        case .TILE: try readTile(op)
        case .DEQUANTIZE: try readDequantize(op)
        case .QUANTIZE: try readQuantize(op)
        case .SPACE_TO_BATCH_ND: try readDilatedConvolution(op)
        case .GREATER:
            try emitBinary(op, .greater)
        case .SELECT_V2:
            try op.expectInputs(3...3)
            try emit(.select, try op.inputs.map { try value($0) }, output: try op.output)
        case .TRANSPOSE_CONV: try readTransposeConvolution(op)
        case .CONV_3D: try readConvolution3D(op)
        default: throw H5ToLiteError("this operator is not supported")
        }
    }

    private mutating func emitUnary(_ op: OperatorEntry, _ kind: OpKind) throws {
        try op.expectInputs(1...1)
        try emit(kind, [try value(try op.input(0))], output: try op.output)
    }

    private mutating func emitBinary(_ op: OperatorEntry, _ kind: OpKind) throws {
        try op.expectInputs(2...2)
        try emit(kind, [try value(try op.input(0)), try value(try op.input(1))], output: try op.output)
    }

    // MARK: convolutions and pools

    private mutating func readConvolution(_ op: OperatorEntry) throws {
        let input = try value(try op.input(0))
        let (kind, weights) = try convolution(op, inputShape: shape(input))
        try emit(kind, [input] + weights, output: try op.output)
    }

    /// The IR kind of a CONV_2D or DEPTHWISE_CONV_2D, and its filter and bias values.
    mutating func convolution(_ op: OperatorEntry, inputShape: [Int]) throws -> (OpKind, [ValueID]) {
        try op.expectInputs(2...3)
        let filter = try value(try op.input(1))
        var weights = [filter]
        if let biasTensor = op.optionalInput(2) {
            let bias = try value(biasTensor)
            let channels = shape(filter).last ?? 0
            let outputs = op.code == .CONV_2D ? shape(filter).first ?? 0 : channels
            guard shape(bias) == [outputs] else {
                throw H5ToLiteError("bias has shape \(shape(bias)), expected [\(outputs)]")
            }
            weights.append(bias)
        }
        if op.code == .CONV_2D {
            let options = try op.options(.Conv2DOptions)
            typealias S = Slot.Conv2DOptions
            let window = try readWindow(options, padding: S.padding, strideW: S.stride_w, strideH: S.stride_h,
                                        dilationW: S.dilation_w_factor, dilationH: S.dilation_h_factor)
            let activation = try fusedActivation(options, S.fused_activation_function)
            let (channels, filterShape) = (inputShape.last ?? 0, shape(filter))
            guard filterShape.count == 4, filterShape[3] != channels, channels > 0 else { return (.conv2d(window, activation), weights) }
            // A grouped CONV_2D (TensorFlow's Conv2D with groups): one group per input channel
            // is a depthwise convolution; other groupings are not supported.
            guard filterShape[3] == 1, filterShape[0] % channels == 0 else {
                throw H5ToLiteError("CONV_2D with \(channels / max(filterShape[3], 1)) groups of \(filterShape[3]) channels is not supported")
            }
            weights[0] = try depthwiseFilter(filter)
            return (.depthwiseConv2d(window, multiplier: filterShape[0] / channels, activation), weights)
        }
        let options = try op.options(.DepthwiseConv2DOptions)
        typealias S = Slot.DepthwiseConv2DOptions
        let window = try readWindow(options, padding: S.padding, strideW: S.stride_w, strideH: S.stride_h,
                                    dilationW: S.dilation_w_factor, dilationH: S.dilation_h_factor)
        // The multiplier follows from the shapes; TFLite no longer trusts the option.
        let channels = inputShape.count == 4 ? inputShape[3] : 0
        let filterChannels = shape(filter).last ?? 0
        guard channels > 0, filterChannels % channels == 0, filterChannels > 0 else {
            throw H5ToLiteError("depthwise filter \(shape(filter)) does not fit input \(inputShape)")
        }
        let activation = try fusedActivation(options, S.fused_activation_function)
        return (.depthwiseConv2d(window, multiplier: filterChannels / channels, activation), weights)
    }

    /// A grouped CONV_2D's [O, h, w, 1] filter as a depthwise [1, h, w, O] one: the constant
    /// (per-channel scales move from axis 0 to 3) or, in a float16 file, the constant behind
    /// its DEQUANTIZE.
    private mutating func depthwiseFilter(_ filter: ValueID) throws -> ValueID {
        if graph.isConstant(filter) { return transposedFilter(filter) }
        guard let producer = graph.ops.lastIndex(where: { $0.outputs == [filter] }), graph.ops[producer].kind == .dequantize,
              graph.isConstant(graph.ops[producer].inputs[0]) else {
            throw H5ToLiteError("a grouped CONV_2D needs a constant filter")
        }
        let restored = transposedFilter(graph.ops[producer].inputs[0])
        return try graph.addOp(.dequantize, inputs: [restored], name: "\(graph[filter].name)/depthwise", origin: graph.ops[producer].origin,
                               dtype: .float32)
    }

    private mutating func transposedFilter(_ id: ValueID) -> ValueID {
        let value = graph[id]
        let (outputs, taps) = (value.shape[0], value.shape[1] * value.shape[2])
        func transposed<T>(_ data: [T]) -> [T] { (0..<data.count).map { data[($0 % outputs) * taps + $0 / outputs] } }
        let data: ConstantData
        switch value.constant! {
        case .float32(let v): data = .float32(transposed(v))
        case .float16(let v): data = .float16(transposed(v))
        case .int8(let v): data = .int8(transposed(v))
        case .int32(let v): data = .int32(transposed(v))
        }
        var quantization = value.quantization
        if quantization?.scales.count ?? 0 > 1 { quantization?.axis = 3 }
        return graph.addConstant(name: value.name, shape: [1, value.shape[1], value.shape[2], outputs], data: data,
                                 quantization: quantization)
    }

    private mutating func readPool(_ op: OperatorEntry) throws {
        try op.expectInputs(1...1)
        let options = try op.options(.Pool2DOptions)
        typealias S = Slot.Pool2DOptions
        let window = try readWindow(options, padding: S.padding, strideW: S.stride_w, strideH: S.stride_h,
                                    filterW: S.filter_width, filterH: S.filter_height)
        let activation = try fusedActivation(options, S.fused_activation_function)
        let kind: OpKind = op.code == .MAX_POOL_2D ? .maxPool(window, activation) : .averagePool(window, activation)
        try emit(kind, [try value(try op.input(0))], output: try op.output)
    }

    /// TRANSPOSE_CONV: output_shape (constant, or TensorFlow's shape arithmetic, folded),
    /// weights, input, optional bias; the IR takes input, weights, bias.
    private mutating func readTransposeConvolution(_ op: OperatorEntry) throws {
        try op.expectInputs(3...4)
        let outputShape = try ints(try op.input(0)).values
        let filter = try value(try op.input(1))
        let input = try value(try op.input(2))
        guard outputShape.count == 4, outputShape[3] == shape(filter).first else {
            throw H5ToLiteError("output_shape \(outputShape) does not fit weights \(shape(filter))")
        }
        var inputs = [input, filter]
        if let biasTensor = op.optionalInput(3) {
            let bias = try value(biasTensor)
            guard shape(bias) == [outputShape[3]] else {
                throw H5ToLiteError("bias has shape \(shape(bias)), expected [\(outputShape[3])]")
            }
            inputs.append(bias)
        }
        let options = try op.options(.TransposeConvOptions)
        typealias S = Slot.TransposeConvOptions
        let window = try readWindow(options, padding: S.padding, strideW: S.stride_w, strideH: S.stride_h)
        let activation = try fusedActivation(options, S.fused_activation_function)
        try emit(.transposeConv2d(window, outputSize: Array(outputShape[1...2]), activation), inputs, output: try op.output)
    }

    /// CONV_3D: input NDHWC, DHWIO filter, optional bias. TensorFlow writes a grouped Conv3D
    /// as a CONV_3D whose filter holds a group's input channels, which LiteRT cannot run.
    private mutating func readConvolution3D(_ op: OperatorEntry) throws {
        try op.expectInputs(2...3)
        let input = try value(try op.input(0))
        let filter = try value(try op.input(1))
        let (inputShape, filterShape) = (shape(input), shape(filter))
        guard inputShape.count == 5, filterShape.count == 5, filterShape[3] == inputShape[4] else {
            throw H5ToLiteError("filter \(filterShape) does not fit input \(inputShape) (grouped 3D convolutions are not supported)")
        }
        var inputs = [input, filter]
        if let biasTensor = op.optionalInput(2) {
            let bias = try value(biasTensor)
            guard shape(bias) == [filterShape[4]] else {
                throw H5ToLiteError("bias has shape \(shape(bias)), expected [\(filterShape[4])]")
            }
            inputs.append(bias)
        }
        let options = try op.options(.Conv3DOptions)
        typealias S = Slot.Conv3DOptions
        let rawPadding = try options.byte(S.padding, default: 0)
        guard let mode = H5ToLiteTFLite.Padding(rawValue: rawPadding) else { throw H5ToLiteError("unknown padding \(rawPadding)") }
        let window = Window(stride: try [S.stride_d, S.stride_h, S.stride_w].map { try options.int($0, default: 0) },
                            dilation: try [S.dilation_d_factor, S.dilation_h_factor, S.dilation_w_factor].map { try options.int($0, default: 1) },
                            padding: mode == .SAME ? .same : .valid)
        guard (window.stride + window.dilation).allSatisfy({ $0 >= 1 }) else {
            throw H5ToLiteError("stride \(window.stride) and dilation \(window.dilation) must be positive")
        }
        let activation = try fusedActivation(options, S.fused_activation_function)
        try emit(.conv3d(window, activation), inputs, output: try op.output)
    }

    private func readWindow(_ options: FlatTable?, padding: Int, strideW: Int, strideH: Int,
                            dilationW: Int? = nil, dilationH: Int? = nil,
                            filterW: Int? = nil, filterH: Int? = nil) throws -> Window {
        func field(_ slot: Int?, default value: Int32) throws -> Int {
            guard let slot else { return Int(value) }
            return try options.int(slot, default: value)
        }
        let rawPadding = try options.byte(padding, default: 0)
        guard let mode = H5ToLiteTFLite.Padding(rawValue: rawPadding) else {
            throw H5ToLiteError("unknown padding \(rawPadding)")
        }
        let window = Window(size: [try field(filterH, default: 1), try field(filterW, default: 1)],
                            stride: [try field(strideH, default: 0), try field(strideW, default: 0)],
                            dilation: [try field(dilationH, default: 1), try field(dilationW, default: 1)],
                            padding: mode == .SAME ? .same : .valid)
        guard (window.size + window.stride + window.dilation).allSatisfy({ $0 >= 1 }) else {
            throw H5ToLiteError("window size \(window.size), stride \(window.stride), dilation \(window.dilation) must be positive")
        }
        return window
    }

    // MARK: dense, reductions, merges

    private mutating func readFullyConnected(_ op: OperatorEntry) throws {
        try op.expectInputs(2...3)
        let options = try op.options(.FullyConnectedOptions)
        typealias S = Slot.FullyConnectedOptions
        guard try options.byte(S.weights_format, default: 0) == 0 else {
            throw H5ToLiteError("shuffled weights are not supported")
        }
        var input = try value(try op.input(0))
        let weights = try value(try op.input(1))
        // TensorFlow quantizes a hybrid layer's float inputs asymmetrically; the IR has
        // no way to ask for the older symmetric scheme.
        if graph[input].dtype == .float32, graph[weights].dtype == .int8,
           try !options.bool(S.asymmetric_quantize_inputs, default: false) {
            throw H5ToLiteError("hybrid FULLY_CONNECTED with symmetric input quantization (asymmetric_quantize_inputs=false) is not supported")
        }
        let depth = shape(weights).count == 2 ? shape(weights)[1] : 0
        // Without keep_num_dims TFLite flattens the input to rows of the weights' depth.
        if try !options.bool(S.keep_num_dims, default: false), shape(input).count != 2 {
            let count = elementCount(shape(input))
            guard depth > 0, count % depth == 0 else {
                throw H5ToLiteError("input \(shape(input)) does not fit weights \(shape(weights))")
            }
            input = try emitStep(.reshape([count / depth, depth]), [input], output: try op.output, suffix: "flatten")
        }
        var inputs = [input, weights]
        if let biasTensor = op.optionalInput(2) {
            let bias = try value(biasTensor)
            guard shape(bias) == [shape(weights).first ?? 0] else {
                throw H5ToLiteError("bias has shape \(shape(bias)), weights \(shape(weights))")
            }
            inputs.append(bias)
        }
        let activation = try fusedActivation(options, S.fused_activation_function)
        try emit(.fullyConnected(activation), inputs, output: try op.output)
    }

    private mutating func readReduction(_ op: OperatorEntry) throws {
        try op.expectInputs(2...2)
        let input = try value(try op.input(0))
        let axes = try normalizedAxes(try ints(try op.input(1)).values, rank: shape(input).count)
        let keepDims = try op.options(.ReducerOptions).bool(Slot.ReducerOptions.keep_dims, default: false)
        let kind: OpKind = op.code == .MEAN ? .mean(axes: axes, keepDims: keepDims) : .reduceMax(axes: axes, keepDims: keepDims)
        try emit(kind, [input], output: try op.output)
    }

    private mutating func readConcatenation(_ op: OperatorEntry) throws {
        guard !op.inputs.isEmpty else { throw H5ToLiteError("has no inputs") }
        let inputs = try op.inputs.map { try value($0) }
        let options = try op.options(.ConcatenationOptions)
        let axis = try normalizedAxes([try options.int(Slot.ConcatenationOptions.axis, default: 0)], rank: shape(inputs[0]).count)[0]
        let activation = try fusedActivation(options, Slot.ConcatenationOptions.fused_activation_function)
        try emit(.concat(axis: axis, activation), inputs, output: try op.output)
    }

    private mutating func readBinary(_ op: OperatorEntry) throws {
        try op.expectInputs(2...2)
        let inputs = [try value(try op.input(0)), try value(try op.input(1))]
        let kind: BinaryKind
        var activation = FusedActivation.none
        switch op.code {
        case .ADD:
            kind = .add
            activation = try fusedActivation(try op.options(.AddOptions), Slot.AddOptions.fused_activation_function)
        case .SUB:
            kind = .sub
            activation = try fusedActivation(try op.options(.SubOptions), Slot.SubOptions.fused_activation_function)
        case .MUL:
            kind = .mul
            activation = try fusedActivation(try op.options(.MulOptions), Slot.MulOptions.fused_activation_function)
        case .DIV:
            kind = .div
            activation = try fusedActivation(try op.options(.DivOptions), Slot.DivOptions.fused_activation_function)
        case .MAXIMUM: kind = .maximum
        case .SQUARED_DIFFERENCE: kind = .squaredDifference
        default: kind = .minimum
        }
        try emit(.binary(kind, activation), inputs, output: try op.output)
    }

    // MARK: shape ops

    private mutating func readPad(_ op: OperatorEntry) throws {
        try op.expectInputs(op.code == .PAD ? 2...2 : 2...3)
        let input = try value(try op.input(0))
        let paddings = try ints(try op.input(1))
        let rank = shape(input).count
        guard paddings.shape == [rank, 2], paddings.values.allSatisfy({ $0 >= 0 && $0 <= maximumElementCount }) else {
            throw H5ToLiteError("paddings \(paddings.values) of shape \(paddings.shape) do not fit rank \(rank)")
        }
        if let fill = op.optionalInput(2) {
            guard try padsWithZero(fill, output: tensors[try op.output]) else {
                throw H5ToLiteError("only a constant pad value of real zero is supported")
            }
        }
        let pairs = (0..<rank).map { [paddings.values[2 * $0], paddings.values[2 * $0 + 1]] }
        try emit(.pad(pairs), [input], output: try op.output)
    }

    private mutating func readReshape(_ op: OperatorEntry) throws {
        let input = try value(try op.input(0))
        try emit(.reshape(try reshapeTarget(op, inputShape: shape(input))), [input], output: try op.output)
    }

    /// The output shape of a RESHAPE, EXPAND_DIMS or SQUEEZE.
    mutating func reshapeTarget(_ op: OperatorEntry, inputShape: [Int]) throws -> [Int] {
        let target: [Int]
        switch op.code {
        case .RESHAPE:
            if let shapeTensor = op.optionalInput(1) {
                target = try ints(shapeTensor).values
            } else if let options = try op.options(.ReshapeOptions),
                      let newShape = try options.vector(Slot.ReshapeOptions.new_shape, elementSize: 4) {
                target = try newShape.scalars(Int32.self).map(Int.init)
            } else {
                throw H5ToLiteError("RESHAPE has no new shape")
            }
        case .EXPAND_DIMS:
            let axes = try ints(try op.input(1)).values
            guard axes.count == 1 else { throw H5ToLiteError("EXPAND_DIMS needs one axis") }
            var expanded = inputShape
            expanded.insert(1, at: try normalizedAxes(axes, rank: inputShape.count + 1)[0])
            target = expanded
        default:
            let listed = try op.options(.SqueezeOptions)?.vector(Slot.SqueezeOptions.squeeze_dims, elementSize: 4)?
                .scalars(Int32.self).map(Int.init) ?? []
            let axes = listed.isEmpty ? inputShape.indices.filter { inputShape[$0] == 1 } : try normalizedAxes(listed, rank: inputShape.count)
            guard axes.allSatisfy({ inputShape[$0] == 1 }) else {
                throw H5ToLiteError("cannot squeeze axes \(axes) of \(inputShape)")
            }
            target = inputShape.indices.filter { !axes.contains($0) }.map { inputShape[$0] }
        }
        return try resolvedShape(target, count: elementCount(inputShape))
    }

    private mutating func readStridedSlice(_ op: OperatorEntry) throws {
        let input = try value(try op.input(0))
        let spec = try resolveSlice(op, inputShape: shape(input))
        let kind = OpKind.stridedSlice(begin: spec.begin, end: spec.end, strides: spec.strides)
        guard spec.shrunk.contains(true) else {
            try emit(kind, [input], output: try op.output)
            return
        }
        let sliced = try emitStep(kind, [input], output: try op.output, suffix: "slice")
        try emit(.reshape(spec.outputShape), [sliced], output: try op.output)
    }

    /// TILE as concatenations of copies, one per tiled axis.
    private mutating func readTile(_ op: OperatorEntry) throws {
        try op.expectInputs(2...2)
        var current = try value(try op.input(0))
        let multiples = try ints(try op.input(1)).values
        guard multiples.count == shape(current).count, multiples.allSatisfy({ $0 >= 1 && $0 <= maximumElementCount }) else {
            throw H5ToLiteError("multiples \(multiples) do not fit input \(shape(current))")
        }
        let tiled = multiples.indices.filter { multiples[$0] > 1 }
        guard let last = tiled.last else {
            try emit(.identity, [current], output: try op.output)
            return
        }
        for axis in tiled {
            let copies = Array(repeating: current, count: multiples[axis])
            if axis == last {
                try emit(.concat(axis: axis, .none), copies, output: try op.output)
            } else {
                current = try emitStep(.concat(axis: axis, .none), copies, output: try op.output, suffix: "tile\(axis)")
            }
        }
    }

    private mutating func readResize(_ op: OperatorEntry) throws {
        try op.expectInputs(2...2)
        let input = try value(try op.input(0))
        let size = try ints(try op.input(1)).values
        guard size.count == 2, size.allSatisfy({ $0 >= 1 && $0 <= maximumElementCount }) else {
            throw H5ToLiteError("resize size \(size) must be two positive numbers")
        }
        let kind: OpKind
        if op.code == .RESIZE_BILINEAR {
            let options = try op.options(.ResizeBilinearOptions)
            typealias S = Slot.ResizeBilinearOptions
            kind = .resize(.bilinear, size: size, alignCorners: try options.bool(S.align_corners, default: false),
                           halfPixelCenters: try options.bool(S.half_pixel_centers, default: false))
        } else {
            let options = try op.options(.ResizeNearestNeighborOptions)
            typealias S = Slot.ResizeNearestNeighborOptions
            kind = .resize(.nearest, size: size, alignCorners: try options.bool(S.align_corners, default: false),
                           halfPixelCenters: try options.bool(S.half_pixel_centers, default: false))
        }
        try emit(kind, [input], output: try op.output)
    }
}

extension TFLiteGraphReader {
    /// Whether a PADV2 value is the real number zero: 0.0 for float tensors, the
    /// output's zero point for quantized ones (what PAD itself fills with).
    func padsWithZero(_ fill: Int, output: TensorEntry) throws -> Bool {
        let tensor = tensors[fill]
        guard let bytes = try constantBytes(tensor), elementCount(tensor.shape) == 1 else { return false }
        switch tensor.type {
        case .FLOAT32: return floats(bytes) == [0]
        case .INT8: return Int(Int8(bitPattern: bytes.first!)) == output.quantization?.zeroPoints.first
        case .UINT8: return Int(bytes.first!) == output.quantization?.zeroPoints.first
        default: return false
        }
    }
}

/// A shape with its one allowed -1 resolved so that it holds `count` elements.
func resolvedShape(_ shape: [Int], count: Int) throws -> [Int] {
    let unknown = shape.indices.filter { shape[$0] == -1 }
    var known = 1
    for dimension in shape where dimension != -1 {
        let (product, overflow) = known.multipliedReportingOverflow(by: dimension)
        guard dimension >= 0, !overflow, product <= maximumElementCount else {
            throw H5ToLiteError("invalid new shape \(shape)")
        }
        known = product
    }
    var resolved = shape
    if let axis = unknown.first {
        guard unknown.count == 1, known > 0, count % known == 0 else {
            throw H5ToLiteError("cannot reshape \(count) elements to \(shape)")
        }
        resolved[axis] = count / known
    }
    guard elementCount(resolved) == count else {
        throw H5ToLiteError("cannot reshape \(count) elements to \(shape)")
    }
    return resolved
}

func fusedActivation(_ options: FlatTable?, _ slot: Int) throws -> FusedActivation {
    let raw = try options.byte(slot, default: 0)
    switch ActivationFunctionType(rawValue: raw) {
    case .NONE: return .none
    case .RELU: return .relu
    case .RELU_N1_TO_1: return .reluN1To1
    case .RELU6: return .relu6
    case .TANH: return .tanh
    default: throw H5ToLiteError("fused activation \(raw) is not supported")
    }
}

/// Fields of an options table the file may leave out, read with their defaults.
extension Optional where Wrapped == FlatTable {
    func int(_ slot: Int, default value: Int32) throws -> Int {
        Int(try self?.scalar(slot, default: value) ?? value)
    }

    /// An enum field, stored as one byte.
    func byte(_ slot: Int, default value: Int8) throws -> Int8 {
        try self?.scalar(slot, default: value) ?? value
    }

    func bool(_ slot: Int, default value: Bool) throws -> Bool {
        try self?.bool(slot, default: value) ?? value
    }

    func float(_ slot: Int, default value: Float) throws -> Float {
        try self?.float(slot, default: value) ?? value
    }
}
