import H5ToLiteCore
import H5ToLiteIR

/// A kernel with the values it reads and writes: one op, or two fused.
struct Task {
    let kernel: any Kernel
    let inputs: [ValueID]
    let output: ValueID
}

/// The kernels that run the graph, in order. A float MUL by a constant whose
/// only reader is an ADD of a constant (a BatchNormalization TensorFlow could not
/// fold into a convolution) runs as one pass: the same two roundings, half the
/// memory traffic. Without `fusing`, every op runs on its own, so that every
/// value the graph names is computed.
func schedule(_ graph: Graph, threads: Int, fusing: Bool = true) throws -> [Task] {
    var fused: [Int: Task] = [:]
    var absorbed: Set<Int> = []
    let producers = graph.producers()
    let uses = graph.useCounts()
    for (index, op) in graph.ops.enumerated() where fusing {
        guard case .binary(.add, let activation) = op.kind, op.inputs.allSatisfy({ graph[$0].dtype == .float32 }) else { continue }
        for (product, shift) in [(op.inputs[0], op.inputs[1]), (op.inputs[1], op.inputs[0])] {
            guard graph.isConstant(shift), uses[product] == 1, let producer = producers[product],
                  case .binary(.mul, .none) = graph.ops[producer].kind else { continue }
            let factors = graph.ops[producer].inputs
            guard let scale = factors.first(where: graph.isConstant), let x = factors.first(where: { !graph.isConstant($0) }),
                  graph[x].shape == graph[op.outputs[0]].shape, factors.allSatisfy({ graph[$0].dtype == .float32 }) else { continue }
            let kernel = AffineKernel(input: graph[x].shape, scale: graph[scale].shape, shift: graph[shift].shape,
                                      activation: activation, threads: threads)
            fused[index] = Task(kernel: kernel, inputs: [x, scale, shift], output: op.outputs[0])
            absorbed.insert(producer)
            break
        }
    }
    let tasks = try graph.ops.indices.filter { !absorbed.contains($0) }.map { index in
        let op = graph.ops[index]
        return try fused[index] ?? Task(kernel: makeKernel(op, in: graph, threads: threads), inputs: op.inputs, output: op.outputs[0])
    }
    return fusing ? chainChannelOperations(tasks, uses: uses, outputs: Set(graph.outputs)) : tasks
}

/// Int8 ops by per-channel constants that feed only each other (a BatchNormalization's MUL and
/// ADD) become one kernel: one pass over the tensor instead of two.
private func chainChannelOperations(_ tasks: [Task], uses: [Int], outputs: Set<ValueID>) -> [Task] {
    var chained: [Task] = []
    var producer: [ValueID: Int] = [:]
    for task in tasks {
        if let kernel = task.kernel as? ChannelOperationKernel, case let input = task.inputs[kernel.variable],
           let index = producer[input], uses[input] == 1, !outputs.contains(input),
           let first = chained[index].kernel as? ChannelOperationKernel, let joined = first.followed(by: kernel) {
            chained[index] = Task(kernel: joined, inputs: chained[index].inputs, output: task.output)
            producer[input] = nil
            producer[task.output] = index
            continue
        }
        if task.kernel is ChannelOperationKernel { producer[task.output] = chained.count }
        chained.append(task)
    }
    return chained
}

/// The kernel that runs `op`, with the shapes the graph gives its operands.
/// The graph has passed `verify`, so shapes agree with the op's attributes.
func makeKernel(_ op: Op, in graph: Graph, threads: Int) throws -> any Kernel {
    let shapes = op.inputs.map { graph[$0].shape }
    let output = graph[op.outputs[0]].shape
    let count = elementCount(output)
    let hasBias = op.inputs.count > 2
    guard attributesFit(op.kind, input: shapes[0]) else {
        throw H5ToLiteError("op \(op.kind.name) from \(op.origin) has attributes that do not fit its input \(shapes[0])")
    }
    switch KernelFamily(op, in: graph) {
    case .integer: return try makeIntegerKernel(op, in: graph, threads: threads)
    case .hybrid: return try makeHybridKernel(op, in: graph, threads: threads)
    case .float: try checkFloatOperands(op, graph)
    }
    if let weights = op.kind.facts.weights { try checkBias(op, shapes, weights, graph) }
    switch op.kind {
    case .conv2d(let window, let activation):
        let geometry = WindowGeometry(input: shapes[0], output: output, kernel: [shapes[1][1], shapes[1][2]], window: window)
        return FloatProductKernel(rows: ProductRows(geometry, pixelStride: geometry.inputChannels), units: shapes[1][0], weights: graph[op.inputs[1]].constant?.floats,
                                  bias: hasBias ? graph[op.inputs[2]].constant?.floats : nil, hasBias: hasBias,
                                  activation: activation, threads: threads)
    case .depthwiseConv2d(let window, let multiplier, let activation):
        let geometry = WindowGeometry(input: shapes[0], output: output, kernel: [shapes[1][1], shapes[1][2]], window: window)
        return DepthwiseKernel(windows: DepthwiseWindows(geometry, multiplier: multiplier), hasBias: hasBias, activation: activation,
                               threads: threads)
    case .fullyConnected(let activation):
        return FloatProductKernel(rows: ProductRows(count: elementCount(shapes[0]) / shapes[1][1], depth: shapes[1][1]),
                                  units: shapes[1][0], weights: graph[op.inputs[1]].constant?.floats,
                                  bias: hasBias ? graph[op.inputs[2]].constant?.floats : nil, hasBias: hasBias,
                                  activation: activation, threads: threads)
    case .maxPool(let window, let activation), .averagePool(let window, let activation):
        let isMax: Bool
        if case .maxPool = op.kind { isMax = true } else { isMax = false }
        let geometry = WindowGeometry(input: shapes[0], output: output, kernel: window.size, window: window)
        return PoolKernel(geometry: geometry, isMax: isMax, activation: activation, threads: threads)
    case .mean(let axes, _):
        return ReduceKernel(isMax: false, input: shapes[0], axes: axes)
    case .reduceMax(let axes, _):
        return ReduceKernel(isMax: true, input: shapes[0], axes: axes)
    case .binary(let kind, let activation):
        return BinaryKernel(.binary(kind), activation: activation, left: shapes[0], right: shapes[1], output: output, threads: threads)
    case .prelu:
        return BinaryKernel(.prelu, activation: .none, left: shapes[0], right: shapes[1], output: output, threads: threads)
    case .greater:
        return BinaryKernel(.greater, activation: .none, left: shapes[0], right: shapes[1], output: output, threads: threads)
    case .select:
        return SelectKernel<Float>(condition: shapes[0], x: shapes[1], y: shapes[2], output: output)
    case .concat(let axis, let activation):
        return ConcatKernel(rows: elementCount(Array(output[..<axis])), blocks: shapes.map { elementCount(Array($0[axis...])) },
                            activation: activation, threads: threads)
    case .pad(let paddings):
        return StridedCopyKernel<Float>.pad(input: shapes[0], paddings: paddings, fill: 0)
    case .reshape, .identity:
        return CopyKernel<Float>(count: count)
    case .transpose(let perm):
        return StridedCopyKernel<Float>.transpose(input: shapes[0], perm: perm)
    case .stridedSlice(let begin, _, let strides):
        return StridedCopyKernel<Float>.slice(input: shapes[0], begin: begin, strides: strides, output: output)
    case .softmax(let beta):
        let depth = output.last ?? 1
        return SoftmaxKernel(beta: beta, rows: count / depth, depth: depth)
    case .unary(let kind):
        return UnaryKernel(function: .unary(kind), count: count, threads: threads)
    case .leakyRelu(let alpha):
        return UnaryKernel(function: .leakyRelu(alpha: alpha), count: count, threads: threads)
    case .resize(let mode, let size, let alignCorners, let halfPixelCenters):
        return ResizeKernel(mode: mode, input: shapes[0], size: size, alignCorners: alignCorners,
                            halfPixelCenters: halfPixelCenters, threads: threads)
    case .batchMatMul(let adjointX, let adjointY):
        return BatchMatMulKernel(x: shapes[0], output: output, adjointX: adjointX, adjointY: adjointY)
    case .quantize, .dequantize:
        preconditionFailure("quantize and dequantize run as integer kernels")
    case .batchNormalization:
        preconditionFailure("batch_norm is lowered before kernels are built")
    case .transposeConv2d(let window, _, let activation):
        return TransposeConvolutionKernel(geometry: TransposeGeometry(input: shapes[0], filter: shapes[1], output: output, window: window),
                                          hasBias: hasBias, activation: activation)
    case .conv3d(let window, let activation):
        // The product packs its weights from OHWI-like rows; a DHWIO filter is transposed once, so
        // it must be a constant (TensorFlow's files hold it as one, behind DEQUANTIZE at most).
        guard let filter = graph[op.inputs[1]].constant?.floats else { throw unsupported(op, "with a filter that is not a constant") }
        return FloatProductKernel(rows: ProductRows(VolumeGeometry(input: shapes[0], filter: shapes[1], output: output, window: window)),
                                  units: shapes[1][4], weights: conv3dWeightRows(filter, outputs: shapes[1][4]),
                                  bias: hasBias ? graph[op.inputs[2]].constant?.floats : nil, hasBias: hasBias,
                                  activation: activation, threads: threads)
    }
}

/// Float kernels read float32 operands (a select's condition is bool) and write
/// float32 (bool for greater).
private func checkFloatOperands(_ op: Op, _ graph: Graph) throws {
    for (position, id) in op.inputs.enumerated() {
        let expected: DType = op.kind == .select && position == 0 ? .bool : .float32
        guard graph[id].dtype == expected else {
            throw unsupported(op, "with a \(graph[id].dtype) operand '\(graph[id].name)'")
        }
    }
    let expected: DType = op.kind == .greater ? .bool : .float32
    guard graph[op.outputs[0]].dtype == expected else {
        throw unsupported(op, "writing \(graph[op.outputs[0]].dtype)")
    }
}

/// The attribute ranges shape inference leaves unchecked.
private func attributesFit(_ kind: OpKind, input: [Int]) -> Bool {
    switch kind {
    case .mean(let axes, _), .reduceMax(let axes, _):
        return axes.allSatisfy { input.indices.contains($0) }
    case .concat(let axis, _):
        return input.indices.contains(axis)
    case .pad(let paddings):
        return paddings.allSatisfy { $0.count == 2 && $0[0] >= 0 && $0[1] >= 0 }
    case .stridedSlice(let begin, _, _):
        return zip(begin, input).allSatisfy { $0 >= 0 && $0 <= $1 }
    default:
        return true
    }
}

/// A bias, when present, holds one value per output channel.
private func checkBias(_ op: Op, _ shapes: [[Int]], _ weights: WeightOperands, _ graph: Graph) throws {
    let channels = shapes[weights.filter][weights.channelAxis]
    guard shapes.count > weights.bias, shapes[weights.bias] != [channels] else { return }
    throw H5ToLiteError("op \(op.kind.name) from \(op.origin): bias '\(graph[op.inputs[weights.bias]].name)' "
                           + "has shape \(shapes[weights.bias]), expected [\(channels)]")
}
