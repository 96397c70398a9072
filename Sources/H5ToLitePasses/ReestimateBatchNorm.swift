import Foundation
import H5ToLiteIR
import H5ToLiteInterpreter

/// After pruning, replaces each BatchNormalization's moving mean and variance with the
/// statistics its input really has on the calibration data (per channel, over samples and
/// space). Layers are corrected in order, so each BatchNorm sees the already-corrected
/// layers before it. Pruning shifts every layer's output distribution; without this the
/// stored statistics no longer match and accuracy collapses at high sparsity. On by default
/// with `--prune` and `--calibration`.
///
///     %5 "bn": f32[1,8,8,4] = batch_norm(%3, %g, %b, %mean, %variance) {epsilon=0.001}
///   ->
///     %5 "bn": f32[1,8,8,4] = batch_norm(%3, %g, %b, %mean', %variance') {epsilon=0.001}
let reestimateBatchNorm = Pass(name: "reestimate-batchnorm",
                               summary: "re-measure BatchNorm statistics on calibration data after pruning") { graph, context in
    guard context.options.pruning != nil, context.options.reestimateBatchNorm,
          let samples = context.options.calibration, graph.ops.contains(where: \.kind.isBatchNormalization) else { return }
    var runner = StagedRunner(graph: graph, samples: samples)
    var shifts: [(String, Double)] = []
    try runner.run { op, input, graph in
        guard case .batchNormalization = op.kind else { return }
        let (mean, variance) = channelStatistics(input)
        let oldMean = graph[op.inputs[3]].constant?.floats ?? []
        let oldVariance = graph[op.inputs[4]].constant?.floats ?? []
        graph[op.inputs[3]].constant = .float32(mean)
        graph[op.inputs[4]].constant = .float32(variance)
        shifts.append((op.origin, relativeShift(oldMean, oldVariance, mean, variance)))
    }
    graph = runner.graph
    let worst = shifts.sorted { $0.1 > $1.1 }.prefix(5).map { "\($0.0) (\(String(format: "%.2f", $0.1)))" }
    context.note("reestimate-batchnorm: \(shifts.count) BatchNorm layers re-measured on \(samples.shape[0]) samples; "
                 + "moved most: \(worst.joined(separator: ", "))")
}

extension OpKind {
    var isBatchNormalization: Bool {
        if case .batchNormalization = self { return true }
        return false
    }
}

/// Per-channel mean and (population) variance over every axis but the last.
func channelStatistics(_ tensor: Tensor) -> ([Float], [Float]) {
    let channels = tensor.shape.last ?? 1
    var sum = [Double](repeating: 0, count: channels)
    var squares = sum
    for (index, value) in tensor.data.enumerated() {
        let x = Double(value)
        sum[index % channels] += x
        squares[index % channels] += x * x
    }
    let count = Double(max(tensor.data.count / channels, 1))
    let mean = sum.map { $0 / count }
    let variance = zip(squares, mean).map { max($0 / count - $1 * $1, 0) }
    return (mean.map { Float($0) }, variance.map { Float($0) })
}

/// How far the statistics moved, in units of the old standard deviation (mean shift) plus
/// the log-ratio of the variances, averaged over channels: the report's ranking.
private func relativeShift(_ oldMean: [Float], _ oldVariance: [Float], _ mean: [Float], _ variance: [Float]) -> Double {
    guard !mean.isEmpty, oldMean.count == mean.count, oldVariance.count == variance.count else { return 0 }
    let total = mean.indices.reduce(0.0) { sum, c in
        let deviation = Double(max(oldVariance[c], 1e-12)).squareRoot()
        return sum + abs(Double(mean[c] - oldMean[c])) / deviation
            + abs(log(Double(max(variance[c], 1e-12)) / Double(max(oldVariance[c], 1e-12))))
    }
    return total / Double(mean.count)
}

/// Runs a graph op by op over a whole batch of samples, keeping each value only until its
/// last reader, and lets a callback see (and change the constants of) each op just before
/// it runs, with that op's first input for all samples.
struct StagedRunner {
    var graph: Graph
    let samples: Tensor

    mutating func run(_ beforeOp: (Op, Tensor, inout Graph) throws -> Void) throws {
        var lastUse: [ValueID: Int] = [:]
        for (index, op) in graph.ops.enumerated() {
            for input in op.inputs { lastUse[input] = index }
        }
        var live: [ValueID: Tensor] = [graph.inputs[0]: samples]
        for (index, op) in graph.ops.enumerated() {
            let activations = op.inputs.filter { !graph.isConstant($0) }
            guard let first = activations.first, let input = live[first] else {
                throw ShapeError("op \(op.kind.name) from \(op.origin) reads a value the staged run does not have")
            }
            try beforeOp(op, input, &graph)
            var single = graph
            single.ops = [op]
            single.inputs = activations
            single.outputs = op.outputs
            live[op.outputs[0]] = try Interpreter(graph: single).run(activations.map { live[$0]! })[0]
            for id in activations where lastUse[id] == index && !graph.outputs.contains(id) { live[id] = nil }
        }
    }
}
