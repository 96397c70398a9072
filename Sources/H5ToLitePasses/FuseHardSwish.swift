import H5ToLiteIR

/// Replaces x * (relu6(x + 3) * 1/6), hard_swish as keras.applications' MobileNetV3 writes it
/// out (fuse-activations has already folded the RELU6 into the add), with TFLite's
/// HARD_SWISH: one op instead of three, and no 1/6 constant to round in float16 or int8.
///
///     %2 "add": f32[1,4,4,2] = add(%0, %1) {activation=relu6}      (%1 = 3)
///     %4 "multiply_1": f32[1,4,4,2] = mul(%2, %3)                   (%3 = 1/6)
///     %5 "multiply": f32[1,4,4,2] = mul(%0, %4)
///   ->
///     %5 "multiply": f32[1,4,4,2] = hard_swish(%0)
let fuseHardSwish = Pass(name: "fuse-hard-swish", summary: "turn x * relu6(x + 3) * 1/6 into HARD_SWISH") { graph, _ in
    var rewriter = GraphRewriter(graph)
    for index in graph.ops.indices {
        let op = rewriter.ops[index]
        guard op.kind == .binary(.mul, .none), op.inputs.count == 2 else { continue }
        for xPosition in [0, 1] {
            let x = op.inputs[xPosition]
            guard let gateOps = hardSigmoidOps(of: x, gate: op.inputs[1 - xPosition], rewriter) else { continue }
            if xPosition == 1 { rewriter.setInput(0, of: index, to: x) }
            rewriter.removeInput(1, of: index)
            rewriter.setKind(.unary(.hardSwish), of: index)
            for gateOp in gateOps { rewriter.removeOp(gateOp) }
            break
        }
    }
    graph = rewriter.finish()
}

/// The ops computing `gate` = relu6(x + 3) * 1/6, last first, if each result has no other reader.
private func hardSigmoidOps(of x: ValueID, gate: ValueID, _ rewriter: GraphRewriter) -> [Int]? {
    func isScalar(_ id: ValueID, _ value: Float) -> Bool { rewriter[id].constant?.floats == [value] }
    func operand(of index: Int, besides constant: Float) -> ValueID? {
        let inputs = rewriter.ops[index].inputs
        guard inputs.count == 2 else { return nil }
        if isScalar(inputs[1], constant) { return inputs[0] }
        return isScalar(inputs[0], constant) ? inputs[1] : nil
    }
    guard rewriter.hasSingleReader(gate), let scale = rewriter.producer(of: gate),
          rewriter.ops[scale].kind == .binary(.mul, .none), let clipped = operand(of: scale, besides: Float(1.0 / 6)),
          rewriter.hasSingleReader(clipped), let clip = rewriter.producer(of: clipped) else { return nil }
    switch rewriter.ops[clip].kind {
    case .binary(.add, .relu6):
        return operand(of: clip, besides: 3) == x ? [scale, clip] : nil
    case .unary(.relu6):
        let shifted = rewriter.ops[clip].inputs[0]
        guard rewriter.hasSingleReader(shifted), let shift = rewriter.producer(of: shifted),
              rewriter.ops[shift].kind == .binary(.add, .none), operand(of: shift, besides: 3) == x else { return nil }
        return [scale, clip, shift]
    default:
        return nil
    }
}
