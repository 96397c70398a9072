/// Window geometry shared by convolutions and pools (NHWC, height first; conv3d's NDHWC,
/// depth first: three strides and dilations).
public struct Window: Sendable, Equatable {
    public var size: [Int]  // [h, w]; for convolutions it is read from the filter
    public var stride: [Int]
    public var dilation: [Int]
    public var padding: Padding

    public init(size: [Int] = [1, 1], stride: [Int] = [1, 1], dilation: [Int] = [1, 1], padding: Padding) {
        self.size = size
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
    }
}

public enum BinaryKind: String, Sendable, Equatable {
    case add, sub, mul, div, maximum, minimum
    /// (x - y)^2: how TensorFlow's converter writes a variance.
    case squaredDifference = "squared_difference"
}

public enum UnaryKind: String, Sendable, Equatable {
    case relu, relu6, reluN1To1 = "relu_n1_to_1", logistic, tanh, elu, hardSwish = "hard_swish"
    /// 1 / sqrt(x): LayerNormalization's scale.
    case rsqrt
    /// x * Phi(x) with the exact normal CDF, and its tanh approximation (TFLite GELU's `approximate`).
    case gelu, approximateGelu = "gelu_approximate"
}

public enum ResizeMode: String, Sendable, Equatable {
    case nearest, bilinear
}

/// The operations of the IR. They mirror TFLite's builtin ops, with the operands
/// TFLite insists must be constant (paddings, shapes, axes) held as attributes.
///
/// Operand conventions:
/// - conv2d: input NHWC, filter OHWI, optional bias [O]
/// - depthwiseConv2d: input NHWC, filter [1, H, W, C*multiplier], optional bias
/// - fullyConnected: input [..., I], filter [O, I], optional bias [O]
/// - prelu: input, alpha (broadcast against input without the batch axis)
/// - transposeConv2d: input NHWC, filter OHWI, optional bias [O]; the output's height and
///   width are an attribute, as the input does not fix them (Keras's output_padding)
/// - conv3d: input NDHWC, filter DHWIO (Keras's own layout, which TFLite's CONV_3D keeps),
///   optional bias [O]
public enum OpKind: Sendable, Equatable {
    case conv2d(Window, FusedActivation)
    case depthwiseConv2d(Window, multiplier: Int, FusedActivation)
    case fullyConnected(FusedActivation)
    case maxPool(Window, FusedActivation)
    case averagePool(Window, FusedActivation)
    case mean(axes: [Int], keepDims: Bool)
    case reduceMax(axes: [Int], keepDims: Bool)
    case binary(BinaryKind, FusedActivation)
    case concat(axis: Int, FusedActivation)
    case pad([[Int]])
    case reshape([Int])
    case transpose([Int])
    case stridedSlice(begin: [Int], end: [Int], strides: [Int])
    case softmax(beta: Float)
    case unary(UnaryKind)
    case leakyRelu(alpha: Float)
    case prelu
    /// inputs: x, y; a bool tensor, x > y elementwise with broadcasting.
    case greater
    /// inputs: condition (bool), x, y; picks x where the condition holds, else y (SELECT_V2).
    case select
    case resize(ResizeMode, size: [Int], alignCorners: Bool, halfPixelCenters: Bool)
    /// inputs: x [..., M, K], y [..., K, N] (each transposed in its last two axes when its flag
    /// is set); the batch axes in front are equal. Attention's query-key and weights-value products.
    case batchMatMul(adjointX: Bool, adjointY: Bool)
    /// Passes its input through unchanged: Keras's inference no-ops import as this.
    case identity
    /// Inference-mode batch normalization over the last axis, as Keras defines it:
    /// inputs x, gamma, beta, moving mean, moving variance (each [C]).
    case batchNormalization(epsilon: Float)
    /// float32 -> int8/uint8 with the output's quantization, or int8 -> int8 with a new scale.
    case quantize
    /// int8/uint8/float16 -> float32.
    case dequantize
    /// The gradient of conv2d with respect to its input (Keras Conv2DTranspose, TFLite
    /// TRANSPOSE_CONV): each input pixel scatters filter x value onto an output of `outputSize`.
    case transposeConv2d(Window, outputSize: [Int], FusedActivation)
    /// A convolution over depth, height and width (Keras Conv3D, TFLite CONV_3D).
    case conv3d(Window, FusedActivation)

    /// Stable lower-case name used by the printer and in error messages.
    public var name: String {
        switch self {
        case .conv2d: return "conv2d"
        case .depthwiseConv2d: return "depthwise_conv2d"
        case .fullyConnected: return "fully_connected"
        case .maxPool: return "max_pool"
        case .averagePool: return "average_pool"
        case .mean: return "mean"
        case .reduceMax: return "reduce_max"
        case .binary(let kind, _): return kind.rawValue
        case .concat: return "concat"
        case .pad: return "pad"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .stridedSlice: return "strided_slice"
        case .softmax: return "softmax"
        case .unary(let kind): return kind.rawValue
        case .leakyRelu: return "leaky_relu"
        case .prelu: return "prelu"
        case .greater: return "greater"
        case .select: return "select"
        case .resize(let mode, _, _, _): return "resize_\(mode.rawValue)"
        case .batchMatMul: return "batch_matmul"
        case .identity: return "identity"
        case .batchNormalization: return "batch_norm"
        case .quantize: return "quantize"
        case .dequantize: return "dequantize"
        case .transposeConv2d: return "transpose_conv2d"
        case .conv3d: return "conv3d"
        }
    }

    /// The activation fused into this op, if it can carry one.
    public var fusedActivation: FusedActivation? {
        switch self {
        case .conv2d(_, let a), .depthwiseConv2d(_, _, let a), .fullyConnected(let a),
             .maxPool(_, let a), .averagePool(_, let a), .binary(_, let a), .concat(_, let a),
             .transposeConv2d(_, _, let a), .conv3d(_, let a):
            return a
        default:
            return nil
        }
    }

    /// The same op applying `activation` instead, if it can carry one.
    public func withFusedActivation(_ activation: FusedActivation) -> OpKind? {
        switch self {
        case .conv2d(let w, _): return .conv2d(w, activation)
        case .depthwiseConv2d(let w, let m, _): return .depthwiseConv2d(w, multiplier: m, activation)
        case .fullyConnected: return .fullyConnected(activation)
        case .maxPool(let w, _): return .maxPool(w, activation)
        case .averagePool(let w, _): return .averagePool(w, activation)
        case .binary(let b, _): return .binary(b, activation)
        case .concat(let axis, _): return .concat(axis: axis, activation)
        case .transposeConv2d(let w, let size, _): return .transposeConv2d(w, outputSize: size, activation)
        case .conv3d(let w, _): return .conv3d(w, activation)
        default: return nil
        }
    }
}

public typealias ValueID = Int

public struct Op: Sendable, Equatable {
    public var kind: OpKind
    public var inputs: [ValueID]
    public var outputs: [ValueID]
    /// The Keras layer this op came from, for dumps and error messages.
    public var origin: String

    public init(_ kind: OpKind, inputs: [ValueID], outputs: [ValueID], origin: String) {
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.origin = origin
    }
}
