import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// After pruning, replaces each BatchNormalization's moving mean and variance with the
/// statistics its input really has on the calibration data (per channel, over samples and
/// space). Layers are corrected in order, so each BatchNorm sees the already-corrected
/// layers before it. Pruning shifts every layer's output distribution; without this the
/// stored statistics no longer match and accuracy collapses at high sparsity. Runs with
/// `--prune`, `--calibration` and `--prune-recovery batchnorm`.
///
///     %5 "bn": f32[1,8,8,4] = batch_norm(%3, %g, %b, %mean, %variance) {epsilon=0.001}
///   ->
///     %5 "bn": f32[1,8,8,4] = batch_norm(%3, %g, %b, %mean', %variance') {epsilon=0.001}
let reestimateBatchNorm = Pass(name: "reestimate-batchnorm",
                               summary: "re-measure BatchNorm statistics on calibration data after pruning") { graph, context in
    let samples = try context.calibrationSamples(for: "reestimate-batchnorm")
    guard graph.ops.contains(where: \.kind.isBatchNormalization) else { return }
    var runner = StagedRunner(graph: graph, samples: samples)
    var shifts: [(String, Double)] = []
    for (index, op) in graph.ops.enumerated() {
        if case .batchNormalization = op.kind {
            let (mean, variance) = channelStatistics(try runner.firstInput(of: index))
            let oldMean = runner.graph[op.inputs[3]].constant?.floats ?? []
            let oldVariance = runner.graph[op.inputs[4]].constant?.floats ?? []
            runner.graph[op.inputs[3]].constant = .float32(mean)
            runner.graph[op.inputs[4]].constant = .float32(variance)
            shifts.append((op.origin, relativeShift(oldMean, oldVariance, mean, variance)))
        }
        try runner.step(index)
    }
    graph = runner.graph
    let worst = shifts.sorted { $0.1 > $1.1 }.prefix(5).map { "\($0.0) (\(String(format: "%.2f", $0.1)))" }
    context.note("reestimate-batchnorm: \(shifts.count) BatchNorm layers re-measured on \(samples.sampleCount) samples; "
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
