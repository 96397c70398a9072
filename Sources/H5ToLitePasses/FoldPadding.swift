import H5ToLiteIR

/// Folds a zero PAD of the spatial axes into the VALID convolution (2D or 3D) or max pool that
/// reads it, when TFLite's SAME padding of the unpadded input pads exactly the same amounts
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
    var rewriter = GraphRewriter(graph)
    for (index, op) in graph.ops.enumerated() {
        guard let (readerIndex, folded) = foldedReader(of: op, rewriter) else { continue }
        rewriter.setKind(folded, of: readerIndex)
        rewriter.setInput(0, of: readerIndex, to: op.inputs[0])
        rewriter.removeOp(index)
    }
    graph = rewriter.finish()
}

/// The reader of `pad` and its kind with SAME padding, if that pads exactly as `pad` does.
private func foldedReader(of pad: Op, _ rewriter: GraphRewriter) -> (Int, OpKind)? {
    guard case .pad(let paddings) = pad.kind, paddings.count >= 4, paddings.first == [0, 0], paddings.last == [0, 0],
          rewriter.hasSingleReader(pad.outputs[0]), let readerIndex = rewriter.readers(of: pad.outputs[0]).first,
          rewriter.ops[readerIndex].inputs.first == pad.outputs[0] else { return nil }
    let graph = rewriter.graph
    let reader = graph.ops[readerIndex]
    let input = pad.inputs[0]
    let shape = graph[input].shape
    let folded: OpKind
    switch reader.kind {
    case .conv2d(var w, let a) where w.padding == .valid:
        let filter = graph[reader.inputs[1]].shape
        guard samePadding(shape, kernel: [filter[1], filter[2]], w) == paddings else { return nil }
        w.padding = .same
        folded = .conv2d(w, a)
    case .depthwiseConv2d(var w, let m, let a) where w.padding == .valid:
        let filter = graph[reader.inputs[1]].shape
        guard samePadding(shape, kernel: [filter[1], filter[2]], w) == paddings else { return nil }
        w.padding = .same
        folded = .depthwiseConv2d(w, multiplier: m, a)
    case .conv3d(var w, let a) where w.padding == .valid:
        let filter = graph[reader.inputs[1]].shape
        guard samePadding(shape, kernel: Array(filter.prefix(3)), w) == paddings else { return nil }
        w.padding = .same
        folded = .conv3d(w, a)
    case .maxPool(var w, let a) where w.padding == .valid:
        guard isNonNegative(rewriter, input), samePadding(shape, kernel: w.size, w) == paddings else { return nil }
        w.padding = .same
        folded = .maxPool(w, a)
    default:
        return nil
    }
    // Same window positions are only guaranteed if the output size also agrees.
    guard let newShape = try? inferShape(folded, inputs: [shape] + reader.inputs.dropFirst().map { graph[$0].shape }),
          newShape == graph[reader.outputs[0]].shape else { return nil }
    return (readerIndex, folded)
}

/// The paddings TFLite's SAME mode applies to an NHWC (or NDHWC) input: half of the total
/// before, the rest after.
private func samePadding(_ shape: [Int], kernel: [Int], _ w: Window) -> [[Int]] {
    guard shape.count == kernel.count + 2 else { return [] }
    let spatial = kernel.indices.map { i -> [Int] in
        let size = shape[1 + i]
        let output = (size + w.stride[i] - 1) / w.stride[i]
        let effective = (kernel[i] - 1) * w.dilation[i] + 1
        let total = max((output - 1) * w.stride[i] + effective - size, 0)
        return [total / 2, total - total / 2]
    }
    return [[0, 0]] + spatial + [[0, 0]]
}

/// Whether every element of `value` is known to be >= 0 from the op that produced it.
private func isNonNegative(_ rewriter: GraphRewriter, _ value: ValueID) -> Bool {
    guard let producer = rewriter.producer(of: value) else { return false }
    let kind = rewriter.ops[producer].kind
    switch kind {
    case .unary(.relu), .unary(.relu6), .unary(.logistic), .softmax:
        return true
    default:
        return kind.fusedActivation == .relu || kind.fusedActivation == .relu6
    }
}
