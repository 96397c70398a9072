import H5ToLiteCore
import H5ToLiteIR

/// An integer tensor known while reading: a constant, or shape arithmetic folded
/// at load time.
struct IntTensor: Equatable {
    var shape: [Int]
    var values: [Int]
}

/// The integer ops TensorFlow emits to compute shapes at run time (Flatten,
/// Reshape and UpSampling2D with a dynamic batch). With the batch fixed, they all
/// fold to constants while the file is read.
private let foldableCodes: Set<BuiltinOperator> = [
    .SHAPE, .STRIDED_SLICE, .PACK, .CONCATENATION, .GATHER, .REDUCE_PROD, .RESHAPE, .EXPAND_DIMS, .SQUEEZE,
]

extension TFLiteGraphReader {
    /// The values of an operand that must be a constant integer tensor.
    mutating func ints(_ index: Int) throws -> IntTensor {
        if let known = integers[index] { return known }
        let tensor = tensors[index]
        guard tensor.type == .INT32 || tensor.type == .INT64, let bytes = try constantBytes(tensor) else {
            throw H5ToLiteError("operand '\(tensor.name)' must be a constant integer tensor")
        }
        let values = tensor.type == .INT32 ? integerValues(bytes, Int32.self) : integerValues(bytes, Int64.self)
        let result = IntTensor(shape: tensor.shape, values: values)
        integers[index] = result
        return result
    }

    private func isKnownInteger(_ index: Int) throws -> Bool {
        if integers[index] != nil { return true }
        let tensor = tensors[index]
        guard tensor.type == .INT32 || tensor.type == .INT64, values[index] == nil else { return false }
        return try constantBytes(tensor) != nil
    }

    /// Folds `op` when it computes integers from known integers (or, for SHAPE,
    /// from any tensor, whose shape is static); false when it is not such an op.
    mutating func foldIntegers(_ op: OperatorEntry) throws -> Bool {
        guard foldableCodes.contains(op.code), op.outputs.count == 1,
              [.INT32, .INT64].contains(tensors[op.outputs[0]].type) else { return false }
        if op.code != .SHAPE {
            for index in op.inputs where index >= 0 {
                guard try isKnownInteger(index) else { return false }
            }
        }
        let output = op.outputs[0]
        let result = try foldedValue(op)
        guard tensors[output].accepts(result.shape) else {
            throw H5ToLiteError("output '\(tensors[output].name)' has shape \(tensors[output].shape) in the file, but folds to \(result.shape)")
        }
        integers[output] = result
        return true
    }

    private mutating func foldedValue(_ op: OperatorEntry) throws -> IntTensor {
        switch op.code {
        case .SHAPE:
            let input = try op.input(0)
            let shape = try integers[input]?.shape ?? self.shape(try value(input))
            return IntTensor(shape: [shape.count], values: shape)
        case .STRIDED_SLICE:
            let input = try ints(try op.input(0))
            let slice = try resolveSlice(op, inputShape: input.shape)
            return IntTensor(shape: slice.outputShape, values: slice.gather(input.values, shape: input.shape))
        case .PACK:
            let options = try op.options(.PackOptions)
            let parts = try op.inputs.map { try ints($0) }
            let axis = Int(try options?.scalar(Slot.PackOptions.axis, default: Int32(0)) ?? 0)
            return try stack(parts, axis: axis)
        case .CONCATENATION:
            let options = try op.options(.ConcatenationOptions)
            let parts = try op.inputs.map { try ints($0) }
            let axis = Int(try options?.scalar(Slot.ConcatenationOptions.axis, default: Int32(0)) ?? 0)
            return try concatenate(parts, axis: axis)
        case .GATHER:
            let options = try op.options(.GatherOptions)
            let axis = Int(try options?.scalar(Slot.GatherOptions.axis, default: Int32(0)) ?? 0)
            let batchDims = try options?.scalar(Slot.GatherOptions.batch_dims, default: Int32(0)) ?? 0
            guard batchDims == 0 else { throw H5ToLiteError("GATHER with batch_dims is not supported") }
            return try gather(try ints(try op.input(0)), indices: try ints(try op.input(1)), axis: axis)
        case .REDUCE_PROD:
            let options = try op.options(.ReducerOptions)
            let keepDims = try options?.bool(Slot.ReducerOptions.keep_dims, default: false) ?? false
            let input = try ints(try op.input(0))
            let axes = try normalizedAxes(try ints(try op.input(1)).values, rank: input.shape.count)
            return product(input, axes: axes, keepDims: keepDims)
        default:  // RESHAPE, EXPAND_DIMS, SQUEEZE keep the values
            let input = try ints(try op.input(0))
            return IntTensor(shape: try reshapeTarget(op, inputShape: input.shape), values: input.values)
        }
    }
}

private func integerValues<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, _ type: T.Type) -> [Int] {
    let size = MemoryLayout<T>.size
    return bytes.withUnsafeBytes { raw in
        (0..<(raw.count / size)).map { Int(T(littleEndian: raw.loadUnaligned(fromByteOffset: size * $0, as: T.self))) }
    }
}

/// Axes with negative values counted from the end, checked, without repeats.
func normalizedAxes(_ axes: [Int], rank: Int) throws -> [Int] {
    let normalized = try axes.map { axis in
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank else {
            throw H5ToLiteError("axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }
    return Array(Set(normalized)).sorted()
}

private func stack(_ parts: [IntTensor], axis: Int) throws -> IntTensor {
    guard let first = parts.first, parts.allSatisfy({ $0.shape == first.shape }) else {
        throw H5ToLiteError("PACK needs inputs of one shape")
    }
    let resolved = try normalizedAxes([axis], rank: first.shape.count + 1)[0]
    var shape = first.shape
    shape.insert(1, at: resolved)
    return try concatenate(parts.map { IntTensor(shape: shape, values: $0.values) }, axis: resolved)
}

private func concatenate(_ parts: [IntTensor], axis: Int) throws -> IntTensor {
    guard let first = parts.first else { throw H5ToLiteError("CONCATENATION has no inputs") }
    let rank = first.shape.count
    let resolved = try normalizedAxes([axis], rank: rank)[0]
    for part in parts where part.shape.count != rank
        || part.shape.indices.contains(where: { $0 != resolved && part.shape[$0] != first.shape[$0] }) {
        throw H5ToLiteError("cannot concatenate integer tensors of shapes \(parts.map(\.shape)) on axis \(axis)")
    }
    let outer = elementCount(Array(first.shape[..<resolved]))
    var values: [Int] = []
    for row in 0..<outer {
        for part in parts {
            let inner = elementCount(Array(part.shape[resolved...]))
            values += part.values[(row * inner)..<((row + 1) * inner)]
        }
    }
    var shape = first.shape
    shape[resolved] = parts.reduce(0) { $0 + $1.shape[resolved] }
    return IntTensor(shape: shape, values: values)
}

private func gather(_ params: IntTensor, indices: IntTensor, axis: Int) throws -> IntTensor {
    let resolved = try normalizedAxes([axis], rank: params.shape.count)[0]
    let size = params.shape[resolved]
    let outer = elementCount(Array(params.shape[..<resolved]))
    let inner = elementCount(Array(params.shape[(resolved + 1)...]))
    var values: [Int] = []
    for row in 0..<outer {
        for index in indices.values {
            guard index >= 0, index < size else {
                throw H5ToLiteError("GATHER index \(index) is out of range for size \(size)")
            }
            let start = (row * size + index) * inner
            values += params.values[start..<(start + inner)]
        }
    }
    let shape = Array(params.shape[..<resolved]) + indices.shape + Array(params.shape[(resolved + 1)...])
    return IntTensor(shape: shape, values: values)
}

private func product(_ input: IntTensor, axes: [Int], keepDims: Bool) -> IntTensor {
    let kept = input.shape.indices.map { axes.contains($0) ? 1 : input.shape[$0] }
    var values = Array(repeating: 1, count: elementCount(kept))
    for (flat, value) in input.values.enumerated() {
        var remainder = flat
        var target = 0
        var scale = 1
        for axis in input.shape.indices.reversed() {
            let coordinate = remainder % input.shape[axis]
            remainder /= input.shape[axis]
            if !axes.contains(axis) { target += coordinate * scale }
            scale *= kept[axis]
        }
        values[target] = values[target] &* value
    }
    let shape = keepDims ? kept : input.shape.indices.filter { !axes.contains($0) }.map { input.shape[$0] }
    return IntTensor(shape: shape, values: values)
}
