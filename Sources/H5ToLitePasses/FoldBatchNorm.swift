import H5ToLiteIR

/// Folds a per-channel multiply and add by constants (an imported BatchNormalization,
/// or a Rescaling) into the convolution or dense op that feeds them: the multiplier
/// scales each output channel's filter and bias, the offset adds to the bias.
/// A BatchNormalization with no such producer (DenseNet's pre-activation BN, which
/// follows a concatenation) stays as MUL + ADD, as in TensorFlow's own files.
///
///     %3 "conv": f32[1,8,8,4] = conv2d(%0, %1, %2) {...}
///     %5 "bn/scale": f32[1,8,8,4] = mul(%3, %4)
///     %7 "bn": f32[1,8,8,4] = add(%5, %6)
///   ->
///     %7 "bn": f32[1,8,8,4] = conv2d(%0, %1', %2') {...}
let foldBatchNorm = Pass(name: "fold-batchnorm",
                         summary: "fold per-channel mul/add by constants into the conv or dense before them") { graph, _ in
    var rewriter = GraphRewriter(graph)
    for index in graph.ops.indices {
        foldIntoProducer(&rewriter, at: index)
    }
    // Filters and biases were replaced; the old constants are dropped by dead-code-elimination.
    graph = rewriter.finish()
}

/// Folds op `index` (a mul or add by a per-channel constant) into its producer if allowed.
private func foldIntoProducer(_ rewriter: inout GraphRewriter, at index: Int) {
    let op = rewriter.ops[index]
    guard case .binary(let kind, .none) = op.kind, kind == .mul || kind == .add,
          let (x, constant) = splitConstant(rewriter.graph, op),
          let producerIndex = rewriter.producer(of: x), rewriter.hasSingleReader(x) else { return }
    let producer = rewriter.ops[producerIndex]
    let channels = rewriter[x].shape.last ?? 0
    guard producer.kind.fusedActivation == FusedActivation.none, let weights = producer.kind.facts.weights,
          let perChannel = perChannelValues(rewriter[constant], channels: channels) else { return }
    if kind == .mul {
        scaleProducer(&rewriter, producerIndex, weights, by: perChannel)
    } else {
        addToBias(&rewriter, producerIndex, weights, perChannel)
    }
    rewriter.fold(index, into: producerIndex)
}

/// (activation input, constant input) of a binary op with exactly one constant operand.
func splitConstant(_ graph: Graph, _ op: Op) -> (ValueID, ValueID)? {
    guard op.inputs.count == 2 else { return nil }
    let (a, b) = (op.inputs[0], op.inputs[1])
    if graph.isConstant(b) && !graph.isConstant(a) { return (a, b) }
    if graph.isConstant(a) && !graph.isConstant(b) { return (b, a) }
    return nil
}

/// The constant as one value per channel, if it broadcasts only along the last axis.
private func perChannelValues(_ value: Value, channels: Int) -> [Float]? {
    guard let data = value.constant?.floats else { return nil }
    if data.count == 1 { return Array(repeating: data[0], count: channels) }
    guard data.count == channels, value.shape.last == channels,
          value.shape.dropLast().allSatisfy({ $0 == 1 }) else { return nil }
    return data
}

/// Multiplies each output channel of the producer's filter and bias.
private func scaleProducer(_ rewriter: inout GraphRewriter, _ producerIndex: Int, _ operands: WeightOperands,
                           by factors: [Float]) {
    let op = rewriter.ops[producerIndex]
    let filter = rewriter[op.inputs[operands.filter]]
    // Output channel c holds the slices of the filter at index c along the channel axis.
    let inner = elementCount(Array(filter.shape[(operands.channelAxis + 1)...]))
    let weights = filter.constant!.floats!.enumerated().map { $1 * factors[($0 / inner) % factors.count] }
    let newFilter = rewriter.addConstant(name: filter.name, shape: filter.shape, data: .float32(weights))
    rewriter.setInput(operands.filter, of: producerIndex, to: newFilter)
    if op.inputs.count > operands.bias {
        let bias = rewriter[op.inputs[operands.bias]].constant!.floats!
        setBias(&rewriter, producerIndex, operands, zip(bias, factors).map { $0 * $1 })
    }
}

private func addToBias(_ rewriter: inout GraphRewriter, _ producerIndex: Int, _ operands: WeightOperands, _ offsets: [Float]) {
    let op = rewriter.ops[producerIndex]
    let bias = op.inputs.count > operands.bias ? rewriter[op.inputs[operands.bias]].constant!.floats!
        : Array(repeating: 0, count: offsets.count)
    setBias(&rewriter, producerIndex, operands, zip(bias, offsets).map { $0 + $1 })
}

private func setBias(_ rewriter: inout GraphRewriter, _ producerIndex: Int, _ operands: WeightOperands, _ bias: [Float]) {
    let op = rewriter.ops[producerIndex]
    let hasBias = op.inputs.count > operands.bias
    let name = hasBias ? rewriter[op.inputs[operands.bias]].name : "\(rewriter[op.outputs[0]].name)/bias"
    let newBias = rewriter.addConstant(name: name, shape: [bias.count], data: .float32(bias))
    if hasBias {
        rewriter.setInput(operands.bias, of: producerIndex, to: newBias)
    } else {
        rewriter.appendInput(newBias, to: producerIndex)
    }
}
