/// Element types a tensor can hold.
public enum DType: String, Sendable, Equatable {
    case float32, float16, int32, int8, uint8, int64, bool

    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16: return 2
        case .int8, .uint8, .bool: return 1
        case .int64: return 8
        }
    }

    /// Short spelling used by the text printer: f32, i8, ...
    public var shortName: String {
        switch self {
        case .float32: return "f32"
        case .float16: return "f16"
        case .int32: return "i32"
        case .int8: return "i8"
        case .uint8: return "u8"
        case .int64: return "i64"
        case .bool: return "bool"
        }
    }
}

/// Element count of a shape; a scalar (empty shape) has one element.
public func elementCount(_ shape: [Int]) -> Int {
    shape.reduce(1, *)
}

/// Values of a constant tensor, stored in its element type, row-major.
public enum ConstantData: Sendable, Equatable {
    case float32([Float])
    case int32([Int32])
    case int8([Int8])
    /// IEEE half-precision bit patterns.
    case float16([UInt16])

    public var dtype: DType {
        switch self {
        case .float32: return .float32
        case .int32: return .int32
        case .int8: return .int8
        case .float16: return .float16
        }
    }

    public var count: Int {
        switch self {
        case .float32(let v): return v.count
        case .int32(let v): return v.count
        case .int8(let v): return v.count
        case .float16(let v): return v.count
        }
    }

    public var floats: [Float]? {
        if case .float32(let v) = self { return v }
        return nil
    }

    /// The raw little-endian bytes, as a TFLite buffer stores them.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(let v): return try v.withUnsafeBytes(body)
        case .int32(let v): return try v.withUnsafeBytes(body)
        case .int8(let v): return try v.withUnsafeBytes(body)
        case .float16(let v): return try v.withUnsafeBytes(body)
        }
    }
}

/// Affine quantization: real = scale * (q - zeroPoint), one scale per tensor or per
/// slice along `axis`.
public struct Quantization: Sendable, Equatable {
    public var scales: [Float]
    public var zeroPoints: [Int]
    public var axis: Int

    public init(scales: [Float], zeroPoints: [Int], axis: Int = 0) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.axis = axis
    }

    public init(scale: Float, zeroPoint: Int) {
        self.init(scales: [scale], zeroPoints: [zeroPoint])
    }
}

/// The smallest and largest value a tensor took on the calibration data.
public struct ValueRange: Sendable, Equatable {
    public var min: Float
    public var max: Float

    public init(min: Float, max: Float) {
        self.min = min
        self.max = max
    }
}

/// Activation a TFLite op can apply to its own output.
public enum FusedActivation: String, Sendable, Equatable {
    case none, relu, relu6, reluN1To1 = "relu_n1_to_1", tanh
}

public enum Padding: String, Sendable, Equatable {
    case same, valid
}
