import H5ToLiteCore
/// Output shape of an op given its input shapes.
public func inferShape(_ kind: OpKind, inputs: [[Int]]) throws -> [Int] {
    let x = inputs[0]
    switch kind {
    case .conv2d(let window, _):
        try expectRank(x, 4, kind)
        let filter = inputs[1]
        guard filter.count == 4, filter[3] == x[3] else {
            throw H5ToLiteError("conv2d filter \(filter) does not match input channels \(x[3])")
        }
        let spatial = try windowOutput(x, kernel: [filter[1], filter[2]], window)
        return [x[0]] + spatial + [filter[0]]
    case .depthwiseConv2d(let window, let multiplier, _):
        try expectRank(x, 4, kind)
        let filter = inputs[1]
        guard filter.count == 4, filter[0] == 1, filter[3] == x[3] * multiplier else {
            throw H5ToLiteError("depthwise filter \(filter) does not match input channels \(x[3]) x \(multiplier)")
        }
        return [x[0]] + (try windowOutput(x, kernel: [filter[1], filter[2]], window)) + [filter[3]]
    case .fullyConnected:
        let filter = inputs[1]
        guard filter.count == 2, let last = x.last, filter[1] == last else {
            throw H5ToLiteError("fully_connected weights \(filter) do not match input \(x)")
        }
        return x.dropLast() + [filter[0]]
    case .maxPool(let window, _), .averagePool(let window, _):
        try expectRank(x, 4, kind)
        return [x[0]] + (try windowOutput(x, kernel: window.size, window)) + [x[3]]
    case .mean(let axes, let keepDims), .reduceMax(let axes, let keepDims):
        return x.indices.compactMap { axis in
            axes.contains(axis) ? (keepDims ? 1 : nil) : x[axis]
        }
    case .binary:
        return try broadcast(x, inputs[1])
    case .concat(let axis, _):
        var shape = x
        for other in inputs.dropFirst() {
            guard other.count == x.count,
                  other.indices.allSatisfy({ $0 == axis || other[$0] == x[$0] }) else {
                throw H5ToLiteError("cannot concatenate \(inputs) on axis \(axis)")
            }
            shape[axis] += other[axis]
        }
        return shape
    case .pad(let paddings):
        guard paddings.count == x.count else { throw H5ToLiteError("pad needs \(x.count) paddings") }
        return zip(x, paddings).map { $0 + $1[0] + $1[1] }
    case .reshape(let shape):
        guard elementCount(shape) == elementCount(x) else {
            throw H5ToLiteError("cannot reshape \(x) to \(shape)")
        }
        return shape
    case .transpose(let perm):
        guard perm.sorted() == Array(x.indices) else { throw H5ToLiteError("bad permutation \(perm)") }
        return perm.map { x[$0] }
    case .stridedSlice(let begin, let end, let strides):
        guard begin.count == x.count, end.count == x.count, strides.count == x.count else {
            throw H5ToLiteError("strided_slice needs \(x.count) begins, ends and strides")
        }
        return x.indices.map { i in
            max(0, (min(end[i], x[i]) - begin[i] + strides[i] - 1) / strides[i])
        }
    case .resize(_, let size, _, _):
        try expectRank(x, 4, kind)
        return [x[0], size[0], size[1], x[3]]
    case .prelu:
        _ = try broadcast(x, inputs[1])
        return x
    case .batchMatMul(let adjointX, let adjointY):
        let y = inputs[1]
        guard x.count >= 2, y.count == x.count, x.dropLast(2) == y.dropLast(2) else {
            throw H5ToLiteError("batch_matmul needs operands of one rank with equal batch axes, got \(x) and \(y)")
        }
        let (m, k) = adjointX ? (x[x.count - 1], x[x.count - 2]) : (x[x.count - 2], x[x.count - 1])
        let (inner, n) = adjointY ? (y[y.count - 1], y[y.count - 2]) : (y[y.count - 2], y[y.count - 1])
        guard k == inner else { throw H5ToLiteError("batch_matmul: \(x) and \(y) do not share an inner axis") }
        return Array(x.dropLast(2)) + [m, n]
    case .batchNormalization:
        guard let channels = x.last, inputs.count == 5, inputs.dropFirst().allSatisfy({ $0 == [channels] }) else {
            throw H5ToLiteError("batch_norm needs gamma, beta, mean and variance shaped [\(x.last ?? 0)]")
        }
        return x
    case .greater:
        return try broadcast(x, inputs[1])
    case .select:
        return try broadcast(try broadcast(x, inputs[1]), inputs[2])
    case .softmax, .unary, .leakyRelu, .identity, .quantize, .dequantize:
        return x
    case .transposeConv2d(let window, let outputSize, _):
        return try transposeConvOutput(x, filter: inputs[1], window, outputSize)
    case .conv3d(let window, _):
        try expectRank(x, 5, kind)
        let filter = inputs[1]
        guard filter.count == 5, filter[3] == x[4] else {
            throw H5ToLiteError("conv3d filter \(filter) does not match input channels \(x[4])")
        }
        return [x[0]] + (try windowOutput(x, kernel: Array(filter[0..<3]), window)) + [filter[4]]
    }
}

private func expectRank(_ shape: [Int], _ rank: Int, _ kind: OpKind) throws {
    guard shape.count == rank else {
        throw H5ToLiteError("\(kind.name) needs a rank-\(rank) input, got \(shape)")
    }
}

/// Spatial output size of a window sliding over an NHWC (or, with three window axes,
/// NDHWC) input, by TFLite's rules.
private func windowOutput(_ x: [Int], kernel: [Int], _ window: Window) throws -> [Int] {
    let axes = kernel.count
    guard axes == 2 || axes == 3, x.count == axes + 2, window.stride.count == axes, window.dilation.count == axes,
          (kernel + window.stride + window.dilation).allSatisfy({ $0 > 0 }) else {
        throw H5ToLiteError("window sizes, strides and dilations must be \(axes == 3 ? "three" : "two") positive numbers")
    }
    return try (0..<axes).map { i in
        let effective = (kernel[i] - 1) * window.dilation[i] + 1
        let size = x[1 + i]
        let out = window.padding == .same
            ? (size + window.stride[i] - 1) / window.stride[i]
            : (size - effective + window.stride[i]) / window.stride[i]
        guard out > 0 else {
            throw H5ToLiteError("window \(kernel) does not fit input \(Array(x[1...axes]))")
        }
        return out
    }
}

/// The output of a transposed convolution: NHWC with the attribute's height and width,
/// which must be one the forward convolution maps back onto the input (TFLite's
/// padding arithmetic then matches Keras's). Dilation is not supported by TRANSPOSE_CONV.
private func transposeConvOutput(_ x: [Int], filter: [Int], _ window: Window, _ outputSize: [Int]) throws -> [Int] {
    try expectRank(x, 4, .transposeConv2d(window, outputSize: outputSize, .none))
    guard filter.count == 4, filter[3] == x[3] else {
        throw H5ToLiteError("transpose_conv2d filter \(filter) does not match input channels \(x[3])")
    }
    guard window.dilation == [1, 1] else { throw H5ToLiteError("transpose_conv2d takes no dilation") }
    guard outputSize.count == 2, outputSize.allSatisfy({ $0 > 0 }),
          try windowOutput([x[0]] + outputSize + [filter[0]], kernel: [filter[1], filter[2]], window) == [x[1], x[2]] else {
        throw H5ToLiteError("transpose_conv2d output size \(outputSize) does not map back onto input \(Array(x[1...2]))")
    }
    return [x[0]] + outputSize + [filter[0]]
}

/// NumPy broadcasting of two shapes.
public func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    return try zip(pa, pb).map { da, db in
        guard da == db || da == 1 || db == 1 else { throw H5ToLiteError("cannot broadcast \(a) with \(b)") }
        return max(da, db)
    }
}
