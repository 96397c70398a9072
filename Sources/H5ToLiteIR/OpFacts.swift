/// What an op is, whatever file format spells it: where its weights sit, how it runs in
/// int8 and whether it takes a fused activation. Passes, the interpreter's kernel builders
/// and the TFLite writer all read these facts here, so a new op kind is described by adding
/// its row to `OpKind.facts`.
public struct OpFacts: Sendable, Equatable {
    /// Set for the ops with a constant filter and an optional bias (conv, depthwise, dense).
    public var weights: WeightOperands?
    /// How TFLite runs the op on int8 tensors; nil for ops quantize-int8 keeps in float32.
    public var int8: Int8Form?
    /// Whether fuse-activations may fold a RELU, RELU6 or RELU_N1_TO_1 into it: TFLite's
    /// float kernel clamps its output (concatenation's does not).
    public var fusesActivation: Bool
    /// How many inputs the op takes.
    public var operands: ClosedRange<Int>

    init(weights: WeightOperands? = nil, int8: Int8Form? = nil, fusesActivation: Bool = false, operands: ClosedRange<Int>? = nil) {
        self.weights = weights
        self.int8 = int8
        self.fusesActivation = fusesActivation
        self.operands = operands ?? (weights == nil ? 1...1 : 2...3)
    }

    /// The output parameters TFLite fixes for the op's int8 form, if it fixes them.
    public var fixedOutputParameters: Quantization? {
        if case .fixedOutput(let parameters) = int8 { return parameters }
        return nil
    }
}

/// Operand positions of a weighted op's filter and bias, and the filter axis of its output
/// channels (one int8 scale per slice along it).
public struct WeightOperands: Sendable, Equatable {
    public let filter = 1
    public let bias = 2
    public let channelAxis: Int
    /// Whether quantize-weights gives it int8 weights with float activations (a hybrid op).
    /// TRANSPOSE_CONV stays float: LiteRT's hybrid kernel quantizes its input in a way the
    /// bundled interpreter does not reproduce yet. CONV_3D has only a float32 kernel.
    public var dynamicRange = true
}

/// How an op's int8 form takes its output's scale and zero point.
public enum Int8Form: Sendable, Equatable {
    /// From the output's calibrated range.
    case computes
    /// From its input: the op only moves values, so both share one scale and zero point.
    case sharesInputParameters
    /// Fixed by TFLite, for bounded functions.
    case fixedOutput(Quantization)
}

extension OpKind {
    public var facts: OpFacts {
        switch self {
        case .conv2d, .fullyConnected:
            return OpFacts(weights: WeightOperands(channelAxis: 0), int8: .computes, fusesActivation: true)
        case .depthwiseConv2d:
            return OpFacts(weights: WeightOperands(channelAxis: 3), int8: .computes, fusesActivation: true)
        case .maxPool, .averagePool:
            return OpFacts(int8: .sharesInputParameters, fusesActivation: true)
        case .concat:
            return OpFacts(int8: .sharesInputParameters, operands: 1...Int.max)
        case .pad, .reshape, .transpose, .stridedSlice, .resize:
            return OpFacts(int8: .sharesInputParameters)
        case .mean, .leakyRelu:
            return OpFacts(int8: .computes)
        case .binary(let kind, _):
            let int8 = kind == .add || kind == .sub || kind == .mul
            let clamps = kind != .maximum && kind != .minimum && kind != .squaredDifference
            return OpFacts(int8: int8 ? .computes : nil, fusesActivation: clamps, operands: 2...2)
        case .softmax, .unary(.logistic):
            return OpFacts(int8: .fixedOutput(Quantization(scale: 1.0 / 256, zeroPoint: -128)))
        case .unary(.tanh):
            return OpFacts(int8: .fixedOutput(Quantization(scale: 1.0 / 128, zeroPoint: 0)))
        case .unary(.elu), .unary(.rsqrt), .unary(.gelu), .unary(.approximateGelu):
            return OpFacts()
        case .unary:
            return OpFacts(int8: .computes)
        case .prelu:
            // TFLite's int8 PRELU rescales each side of zero to the output's calibrated range.
            return OpFacts(int8: .computes, operands: 2...2)
        case .greater, .batchMatMul:
            return OpFacts(operands: 2...2)
        case .select:
            return OpFacts(operands: 3...3)
        case .batchNormalization:
            return OpFacts(operands: 5...5)
        case .reduceMax, .identity, .quantize, .dequantize:
            return OpFacts()
        case .transposeConv2d:
            return OpFacts(weights: WeightOperands(channelAxis: 0, dynamicRange: false), int8: .computes, fusesActivation: true)
        case .conv3d:
            // LiteRT's CONV_3D runs float32 only: int8 models keep it in float, as TensorFlow's do.
            return OpFacts(weights: WeightOperands(channelAxis: 4, dynamicRange: false), fusesActivation: true)
        }
    }

    /// QUANTIZE and DEQUANTIZE join int8 ops to float ones; they are no layer's computation.
    public var isConversion: Bool { self == .quantize || self == .dequantize }
}
