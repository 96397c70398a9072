import H5ToLiteIR

/// Moves a RELU, RELU6 or RELU_N1_TO_1 into the op before it, when that op can apply
/// it as its fused activation (TFLite's float kernels clamp conv, depthwise, dense,
/// pools, add, sub, mul and div outputs; concatenation and tanh are not supported).
///
///     %3 "conv/pre_activation": f32[1,8,8,4] = conv2d(%0, %1, %2) {...}
///     %4 "conv": f32[1,8,8,4] = relu(%3)
///   ->
///     %4 "conv": f32[1,8,8,4] = conv2d(%0, %1, %2) {... activation=relu}
let fuseActivations = Pass(name: "fuse-activations",
                           summary: "fold RELU, RELU6 and RELU_N1_TO_1 into the op before them") { graph, _ in
    var rewriter = GraphRewriter(graph)
    for index in graph.ops.indices {
        let op = rewriter.ops[index]
        guard case .unary(let unary) = op.kind, let activation = fusedForm(unary),
              let producerIndex = rewriter.producer(of: op.inputs[0]), rewriter.hasSingleReader(op.inputs[0]) else { continue }
        let producer = rewriter.ops[producerIndex].kind
        guard producer.facts.fusesActivation, producer.fusedActivation == FusedActivation.none,
              let fused = producer.withFusedActivation(activation) else { continue }
        rewriter.setKind(fused, of: producerIndex)
        rewriter.fold(index, into: producerIndex)
    }
    graph = rewriter.finish()
}

private func fusedForm(_ kind: UnaryKind) -> FusedActivation? {
    switch kind {
    case .relu: return .relu
    case .relu6: return .relu6
    case .reluN1To1: return .reluN1To1
    default: return nil
    }
}
