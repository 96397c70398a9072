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
    var index = 0
    while index < graph.ops.count {
        let op = graph.ops[index]
        guard case .unary(let unary) = op.kind, let activation = fusedForm(unary),
              let producerIndex = graph.producers()[op.inputs[0]],
              graph.useCounts()[op.inputs[0]] == 1, !graph.outputs.contains(op.inputs[0]),
              let fused = withActivation(graph.ops[producerIndex].kind, activation) else {
            index += 1
            continue
        }
        graph.ops[producerIndex].kind = fused
        graph.ops[producerIndex].outputs = op.outputs
        graph.ops.remove(at: index)
    }
}

private func fusedForm(_ kind: UnaryKind) -> FusedActivation? {
    switch kind {
    case .relu: return .relu
    case .relu6: return .relu6
    case .reluN1To1: return .reluN1To1
    default: return nil
    }
}

/// The op with `activation` fused in, if it has none yet and TFLite supports it there.
private func withActivation(_ kind: OpKind, _ activation: FusedActivation) -> OpKind? {
    switch kind {
    case .conv2d(let w, .none): return .conv2d(w, activation)
    case .depthwiseConv2d(let w, let m, .none): return .depthwiseConv2d(w, multiplier: m, activation)
    case .fullyConnected(.none): return .fullyConnected(activation)
    case .maxPool(let w, .none): return .maxPool(w, activation)
    case .averagePool(let w, .none): return .averagePool(w, activation)
    case .binary(let b, .none) where b != .maximum && b != .minimum: return .binary(b, activation)
    default: return nil
    }
}
