import H5ToLiteCore
import H5ToLiteIR

/// Quantized tensors: their parameters, their element types in the IR, and the
/// QUANTIZE and DEQUANTIZE operators.
extension TFLiteGraphReader {
    /// The affine parameters of a tensor, checked: positive finite scales, one per
    /// tensor or one per slice of `quantized_dimension`, zero points inside the
    /// element type. Nil when the file gives no scale (float tensors usually carry
    /// an empty table).
    func readQuantization(_ table: FlatTable, index: Int, name: String, type: TensorType,
                          shape: [Int]) throws -> Quantization? {
        guard let parameters = try table.table(Slot.Tensor.quantization),
              let scaleVector = try parameters.vector(Slot.QuantizationParameters.scale, elementSize: 4),
              scaleVector.count > 0 else { return nil }
        let label = "tensor \(index) ('\(name)')"
        guard try parameters.unionType(Slot.QuantizationParameters.details_type) == 0 else {
            throw H5ToLiteError("\(label) uses custom quantization, which is not supported")
        }
        let scales = try scaleVector.scalars(UInt32.self).map(Float.init(bitPattern:))
        let zeroPoints = try parameters.vector(Slot.QuantizationParameters.zero_point, elementSize: 8)?
            .scalars(Int64.self) ?? Array(repeating: 0, count: scales.count)
        let axis = Int(try parameters.scalar(Slot.QuantizationParameters.quantized_dimension, default: Int32(0)))
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw H5ToLiteError("\(label) has quantization scales \(scales); they must be positive")
        }
        guard zeroPoints.count == scales.count else {
            throw H5ToLiteError("\(label) has \(scales.count) quantization scales but \(zeroPoints.count) zero points")
        }
        if scales.count > 1 {
            guard shape.indices.contains(axis), shape[axis] == scales.count else {
                throw H5ToLiteError("\(label) of shape \(shape) has \(scales.count) scales along dimension \(axis)")
            }
        }
        let range = type.integerRange ?? Int64(Int32.min)...Int64(Int32.max)
        guard zeroPoints.allSatisfy(range.contains) else {
            throw H5ToLiteError("\(label) of type \(type) has zero points \(zeroPoints) outside its range")
        }
        return Quantization(scales: scales, zeroPoints: zeroPoints.map { Int($0) }, axis: scales.count > 1 ? axis : 0)
    }

    /// The IR element type of an activation tensor, and its quantization, which
    /// 8-bit activations must have, one scale for the whole tensor.
    func activationType(_ tensor: TensorEntry) throws -> (DType, Quantization?) {
        switch tensor.type {
        case .FLOAT32: return (.float32, nil)
        case .BOOL: return (.bool, nil)
        case .INT8, .UINT8:
            guard let quantization = tensor.quantization, quantization.scales.count == 1 else {
                throw H5ToLiteError("\(tensor.type) tensor '\(tensor.name)' needs one quantization scale and zero point")
            }
            return (tensor.type == .INT8 ? .int8 : .uint8, quantization)
        default:
            throw H5ToLiteError("tensor '\(tensor.name)' has type \(tensor.type), which is not supported as an activation")
        }
    }

    /// A constant in the element type the file stores it in.
    func constantData(_ tensor: TensorEntry, _ bytes: ArraySlice<UInt8>) throws -> ConstantData {
        switch tensor.type {
        case .FLOAT32: return .float32(floats(bytes))
        case .INT8: return .int8(bytes.map { Int8(bitPattern: $0) })
        case .INT32: return .int32(int32Values(bytes))
        default:
            throw H5ToLiteError("constant '\(tensor.name)' of type \(tensor.type) is not supported as an operand")
        }
    }

    mutating func readQuantize(_ op: OperatorEntry) throws {
        try op.expectInputs(1...1)
        let input = try value(try op.input(0))
        guard [.float32, .int8, .uint8].contains(graph[input].dtype),
              [.INT8, .UINT8].contains(tensors[try op.output].type) else {
            throw H5ToLiteError("QUANTIZE from \(graph[input].dtype) to \(tensors[try op.output].type) is not supported")
        }
        try emit(.quantize, [input], output: try op.output)
    }

    /// DEQUANTIZE of a float16 constant is done once, here: the float32 constant
    /// it stands for. DEQUANTIZE of int8 weights or of an activation stays an op.
    mutating func readDequantize(_ op: OperatorEntry) throws {
        try op.expectInputs(1...1)
        let operand = try op.input(0)
        let source = tensors[densifiedFrom[operand] ?? operand]
        let target = tensors[try op.output]
        if source.type == .FLOAT16, values[source.index] == nil, let bytes = try constantBytes(source) {
            guard target.type == .FLOAT32, target.shape == source.shape, values[target.index] == nil else {
                throw H5ToLiteError("output '\(target.name)' must be a float32 tensor of shape \(source.shape), written once")
            }
            values[target.index] = graph.addConstant(name: target.name, shape: target.shape, data: .float32(halfFloats(bytes)))
            return
        }
        let input = try value(source.index)
        guard [.int8, .uint8].contains(graph[input].dtype) else {
            throw H5ToLiteError("DEQUANTIZE of \(source.type) data is not supported")
        }
        try emit(.dequantize, [input], output: target.index)
    }
}

private func int32Values(_ bytes: ArraySlice<UInt8>) -> [Int32] {
    bytes.withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
    }
}

extension TensorType {
    /// The values an 8-bit quantized type holds.
    var integerRange: ClosedRange<Int64>? {
        switch self {
        case .INT8: return -128...127
        case .UINT8: return 0...255
        default: return nil
        }
    }
}
