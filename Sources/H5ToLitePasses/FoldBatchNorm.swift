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
    var index = 0
    while index < graph.ops.count {
        if try foldIntoProducer(&graph, at: index) {
            graph.ops.remove(at: index)
        } else {
            index += 1
        }
    }
    // Filters and biases were replaced; the old constants are dropped by dead-code-elimination.
}

/// Folds op `index` (a mul or add by a per-channel constant) into its producer if allowed.
private func foldIntoProducer(_ graph: inout Graph, at index: Int) throws -> Bool {
    let op = graph.ops[index]
    guard case .binary(let kind, .none) = op.kind, kind == .mul || kind == .add,
          let (x, constant) = splitConstant(graph, op),
          let producerIndex = graph.producers()[x],
          graph.useCounts()[x] == 1, !graph.outputs.contains(x) else { return false }
    let producer = graph.ops[producerIndex]
    let channels = graph[x].shape.last ?? 0
    guard producer.kind.fusedActivation == FusedActivation.none,
          isLinearWithBias(producer.kind),
          let perChannel = perChannelValues(graph[constant], channels: channels) else { return false }
    if kind == .mul {
        scaleProducer(&graph, producerIndex, by: perChannel)
    } else {
        addToBias(&graph, producerIndex, perChannel)
    }
    graph.ops[producerIndex].outputs = op.outputs
    return true
}

private func isLinearWithBias(_ kind: OpKind) -> Bool {
    switch kind {
    case .conv2d, .depthwiseConv2d, .fullyConnected: return true
    default: return false
    }
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
private func scaleProducer(_ graph: inout Graph, _ producerIndex: Int, by factors: [Float]) {
    let op = graph.ops[producerIndex]
    let filter = graph[op.inputs[1]]
    var weights = filter.constant!.floats!
    let channels = factors.count
    switch op.kind {
    case .depthwiseConv2d:
        // [1, H, W, C*M]: the output channel is the last axis.
        for i in weights.indices { weights[i] *= factors[i % channels] }
    default:
        // OHWI and [O, I]: the output channel is the first axis.
        let perChannel = weights.count / channels
        for i in weights.indices { weights[i] *= factors[i / perChannel] }
    }
    let newFilter = graph.addConstant(name: filter.name, shape: filter.shape, data: .float32(weights))
    graph.ops[producerIndex].inputs[1] = newFilter
    if op.inputs.count > 2 {
        let bias = graph[op.inputs[2]].constant!.floats!
        setBias(&graph, producerIndex, zip(bias, factors).map { $0 * $1 })
    }
}

private func addToBias(_ graph: inout Graph, _ producerIndex: Int, _ offsets: [Float]) {
    let op = graph.ops[producerIndex]
    let bias = op.inputs.count > 2 ? graph[op.inputs[2]].constant!.floats! : Array(repeating: 0, count: offsets.count)
    setBias(&graph, producerIndex, zip(bias, offsets).map { $0 + $1 })
}

private func setBias(_ graph: inout Graph, _ producerIndex: Int, _ bias: [Float]) {
    let op = graph.ops[producerIndex]
    let name = op.inputs.count > 2 ? graph[op.inputs[2]].name : "\(graph[op.outputs[0]].name)/bias"
    let newBias = graph.addConstant(name: name, shape: [bias.count], data: .float32(bias))
    if op.inputs.count > 2 {
        graph.ops[producerIndex].inputs[2] = newBias
    } else {
        graph.ops[producerIndex].inputs.append(newBias)
    }
}
