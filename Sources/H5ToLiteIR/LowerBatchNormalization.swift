/// Rewrites every batch_norm op as y = x * multiplier + offset with per-channel constants,
/// multiplier = gamma / sqrt(variance + epsilon), offset = beta - mean * multiplier,
/// computed in double precision. The lower-batchnorm pass and the interpreter share it.
public func lowerBatchNormalization(_ graph: Graph) -> Graph {
    var lowered = graph
    lowered.ops = []
    for op in graph.ops {
        guard case .batchNormalization(let epsilon) = op.kind,
              let gamma = graph[op.inputs[1]].constant?.floats, let beta = graph[op.inputs[2]].constant?.floats,
              let mean = graph[op.inputs[3]].constant?.floats, let variance = graph[op.inputs[4]].constant?.floats else {
            lowered.ops.append(op)
            continue
        }
        var multiplier = [Float](repeating: 0, count: gamma.count)
        var offset = multiplier
        for c in gamma.indices {
            let m = Double(gamma[c]) / (Double(variance[c]) + Double(epsilon)).squareRoot()
            multiplier[c] = Float(m)
            offset[c] = Float(Double(beta[c]) - Double(mean[c]) * m)
        }
        let output = op.outputs[0]
        let name = graph[output].name
        let scale = lowered.addConstant(name: "\(name)/multiplier", shape: [gamma.count], data: .float32(multiplier))
        let shift = lowered.addConstant(name: "\(name)/offset", shape: [gamma.count], data: .float32(offset))
        let scaled = lowered.addValue(Value(name: "\(name)/scale", dtype: .float32, shape: graph[output].shape))
        lowered.ops.append(Op(.binary(.mul, .none), inputs: [op.inputs[0], scale], outputs: [scaled], origin: op.origin))
        lowered.ops.append(Op(.binary(.add, .none), inputs: [scaled, shift], outputs: [output], origin: op.origin))
    }
    return lowered
}
