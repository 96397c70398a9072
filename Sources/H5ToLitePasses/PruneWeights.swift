import H5ToLiteCore
import H5ToLiteIR

public enum PruningScope: String, Sendable, CaseIterable {
    /// Each layer reaches the sparsity on its own.
    case layer
    /// One magnitude threshold across all pruned layers.
    case global
}

/// How pruning wins back accuracy from calibration data, without training.
public enum PruningRecovery: String, Sendable, CaseIterable {
    /// Weights zeroed, nothing else.
    case none
    /// BatchNorm statistics re-measured on the pruned network (reestimate-batchnorm).
    case batchnorm
    /// Kept weights refitted by least squares to the dense layers' outputs, layer by layer.
    case refit
}

public struct PruningOptions: Sendable {
    public var sparsity: Double
    public var scope: PruningScope
    /// Prune the first convolution and the classifier head too (kept dense by default:
    /// they are small and the most sensitive).
    public var includeEnds: Bool
    /// Used only when calibration data is given.
    public var recovery: PruningRecovery

    public init(sparsity: Double, scope: PruningScope = .layer, includeEnds: Bool = false, recovery: PruningRecovery = .refit) {
        self.sparsity = sparsity
        self.scope = scope
        self.includeEnds = includeEnds
        self.recovery = recovery
    }
}

/// Magnitude pruning (`--prune S`): zeroes the fraction S of smallest-magnitude weights of
/// every conv, depthwise and dense kernel, per layer or globally. Runs before BatchNorm
/// folding so that it ranks the weights the model was trained with. refit-pruned or
/// reestimate-batchnorm may follow it to win back accuracy.
///
///     const %1 "dense/kernel": f32[2,2] [0.1, -2.0, 0.5, 3.0]
///   -> (--prune 0.5)
///     const %5 "dense/kernel": f32[2,2] [0.0, -2.0, 0.0, 3.0]
let pruneWeights = Pass(name: "prune-weights",
                        summary: "zero the smallest-magnitude conv, depthwise and dense weights (--prune)") { graph, context in
    guard let options = context.options.pruning else {
        throw H5ToLiteError("prune-weights needs a sparsity (--prune S)")
    }
    let targets = prunableOps(graph, includeEnds: options.includeEnds)
    let kernels = targets.map { graph[filterOperand(of: graph.ops[$0])].constant?.floats ?? [] }
    let globalThreshold = options.scope == .global
        ? magnitudeThreshold(kernels.flatMap { $0 }, sparsity: options.sparsity) : nil
    for (target, kernel) in zip(targets, kernels) {
        let threshold = globalThreshold ?? magnitudeThreshold(kernel, sparsity: options.sparsity)
        let limit = options.scope == .layer ? Int(Double(kernel.count) * options.sparsity) : kernel.count
        let pruned = prune(kernel, threshold: threshold, limit: limit)
        let old = graph[filterOperand(of: graph.ops[target])]
        let position = graph.ops[target].kind.facts.weights!.filter
        graph.ops[target].inputs[position] = graph.addConstant(name: old.name, shape: old.shape, data: .float32(pruned))
        let zeros = pruned.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        context.note("prune-weights: \(graph.ops[target].origin): \(zeros)/\(pruned.count) zero "
                     + "(\(percent(Double(zeros) / Double(max(pruned.count, 1)))))")
    }
}

/// Conv, depthwise and dense ops with constant weights, without the first and last of them
/// unless `includeEnds`.
func prunableOps(_ graph: Graph, includeEnds: Bool) -> [Int] {
    let weighted = graph.ops.indices.filter { index in
        graph.ops[index].kind.facts.weights != nil && graph.isConstant(filterOperand(of: graph.ops[index]))
    }
    guard !includeEnds, weighted.count > 2 else { return includeEnds ? weighted : [] }
    return Array(weighted.dropFirst().dropLast())
}

/// The filter operand of a conv, depthwise or dense op.
func filterOperand(of op: Op) -> ValueID {
    op.inputs[op.kind.facts.weights!.filter]
}

/// The magnitude below which a fraction `sparsity` of `values` lies (the k-th smallest |w|).
func magnitudeThreshold(_ values: [Float], sparsity: Double) -> Float {
    let count = Int(Double(values.count) * sparsity)
    guard count > 0 else { return 0 }
    let sorted = values.map(abs).sorted()
    return sorted[count - 1]
}

/// Zeroes weights below `threshold`, and those equal to it until `limit` zeros are reached,
/// so ties never push a layer past its sparsity.
private func prune(_ values: [Float], threshold: Float, limit: Int) -> [Float] {
    var zeros = values.reduce(0) { $0 + (abs($1) < threshold || $1 == 0 ? 1 : 0) }
    return values.map { value in
        let magnitude = abs(value)
        if magnitude < threshold { return 0 }
        if magnitude == threshold, value != 0, zeros < limit {
            zeros += 1
            return 0
        }
        return value
    }
}

func percent(_ fraction: Double) -> String {
    "\((fraction * 1000).rounded() / 10)%"
}
