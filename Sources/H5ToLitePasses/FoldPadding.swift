import H5ToLiteIR

/// Folds a zero PAD of the spatial axes into the VALID convolution or max pool that reads
/// it, when TFLite's SAME padding of the unpadded input pads exactly the same amounts
/// (keras.applications' ZeroPadding2D + strided conv, DenseNet's pad + max pool).
/// Max pool only folds when its input cannot be negative: SAME max pooling ignores the
/// border, while zero padding competes with it.
///
///     %1 "pad": f32[1,9,9,8] = pad(%0) {paddings=[[0,0],[0,1],[0,1],[0,0]]}
///     %3 "conv": f32[1,4,4,8] = conv2d(%1, %2, %b) {stride=2x2 dilation=1x1 padding=valid}
///   ->
///     %3 "conv": f32[1,4,4,8] = conv2d(%0, %2, %b) {stride=2x2 dilation=1x1 padding=same}
let foldPadding = Pass(name: "fold-padding",
                       summary: "fold zero padding into the VALID conv or max pool after it") { graph, _ in
    var index = 0
    while index < graph.ops.count {
        if foldPad(&graph, at: index) {
            graph.ops.remove(at: index)
        } else {
            index += 1
        }
    }
}

private func foldPad(_ graph: inout Graph, at index: Int) -> Bool {
    let pad = graph.ops[index]
    guard case .pad(let paddings) = pad.kind, paddings.count == 4, paddings[0] == [0, 0], paddings[3] == [0, 0],
          graph.useCounts()[pad.outputs[0]] == 1, !graph.outputs.contains(pad.outputs[0]),
          let readerIndex = graph.ops.firstIndex(where: { $0.inputs.first == pad.outputs[0] }) else { return false }
    let reader = graph.ops[readerIndex]
    let input = pad.inputs[0]
    let shape = graph[input].shape
    let folded: OpKind
    switch reader.kind {
    case .conv2d(var w, let a) where w.padding == .valid:
        let filter = graph[reader.inputs[1]].shape
        guard samePadding(shape, kernel: [filter[1], filter[2]], w) == paddings else { return false }
        w.padding = .same
        folded = .conv2d(w, a)
    case .depthwiseConv2d(var w, let m, let a) where w.padding == .valid:
        let filter = graph[reader.inputs[1]].shape
        guard samePadding(shape, kernel: [filter[1], filter[2]], w) == paddings else { return false }
        w.padding = .same
        folded = .depthwiseConv2d(w, multiplier: m, a)
    case .maxPool(var w, let a) where w.padding == .valid:
        guard isNonNegative(graph, input), samePadding(shape, kernel: w.size, w) == paddings else { return false }
        w.padding = .same
        folded = .maxPool(w, a)
    default:
        return false
    }
    // Same window positions are only guaranteed if the output size also agrees.
    guard let newShape = try? inferShape(folded, inputs: [shape] + reader.inputs.dropFirst().map { graph[$0].shape }),
          newShape == graph[reader.outputs[0]].shape else { return false }
    graph.ops[readerIndex].kind = folded
    graph.ops[readerIndex].inputs[0] = input
    return true
}

/// The paddings TFLite's SAME mode applies to an NHWC input: half of the total before, the rest after.
private func samePadding(_ shape: [Int], kernel: [Int], _ w: Window) -> [[Int]] {
    let spatial = (0..<2).map { i -> [Int] in
        let size = shape[1 + i]
        let output = (size + w.stride[i] - 1) / w.stride[i]
        let effective = (kernel[i] - 1) * w.dilation[i] + 1
        let total = max((output - 1) * w.stride[i] + effective - size, 0)
        return [total / 2, total - total / 2]
    }
    return [[0, 0]] + spatial + [[0, 0]]
}

/// Whether every element of `value` is known to be >= 0 from the op that produced it.
private func isNonNegative(_ graph: Graph, _ value: ValueID) -> Bool {
    guard let producer = graph.producers()[value] else { return false }
    let kind = graph.ops[producer].kind
    switch kind {
    case .unary(.relu), .unary(.relu6), .unary(.logistic), .softmax:
        return true
    default:
        return kind.fusedActivation == .relu || kind.fusedActivation == .relu6
    }
}
