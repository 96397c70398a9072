import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// Pruning's two recoveries, checked against what they promise rather than against snapshots.
@Suite struct PruningRecoveryTests {
    /// Each re-estimated BatchNorm holds the mean and variance its input has when the final
    /// pruned network runs on the calibration data, measured here by a whole-graph run.
    @Test func reestimatedStatisticsAreThoseOfThePrunedActivations() throws {
        let path = repository.appendingPathComponent("golden/models/chexnet_trained/keras3.h5").path
        let imported = try importKeras(try loadKerasModel(path: path))
        let samples = seededNormalSamples(shape: Array(imported[imported.inputs[0]].shape.dropFirst()), count: 6)
        let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.7, recovery: .batchnorm), calibration: [samples])
        let graph = try runPipeline(imported, passes: [removeInferenceNoops, constantFolding, pruneWeights, reestimateBatchNorm],
                                    context: PassContext(options: options))
        let normalizations = graph.ops.filter(\.kind.isBatchNormalization)
        #expect(normalizations.count > 10)
        let wanted = Set(normalizations.map { $0.inputs[0] })
        let observed = try observeBatch(graph, [samples]) { wanted.contains($0) }
        for op in normalizations {
            let input = try #require(observed[op.inputs[0]])
            let channels = input.shape.last!
            let count = Double(input.data.count / channels)
            for channel in 0..<channels {
                let values = stride(from: channel, to: input.data.count, by: channels).map { Double(input.data[$0]) }
                let mean = values.reduce(0, +) / count
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
                let storedMean = Double(graph[op.inputs[3]].constant!.floats![channel])
                let storedVariance = Double(graph[op.inputs[4]].constant!.floats![channel])
                #expect(abs(storedMean - mean) <= 1e-4 * max(1, variance.squareRoot()), "\(op.origin) channel \(channel)")
                #expect(abs(storedVariance - variance) <= 1e-4 * max(1, variance), "\(op.origin) channel \(channel)")
            }
        }
    }

    /// After the refit, every pruned layer's kept weights solve its least squares: the
    /// gradient of |P w - O w_dense|^2 + ridge |w - w_dense|^2 over the kept positions is
    /// zero, where P are the layer's input patches in the pruned network and O those in the
    /// dense one. Patches are gathered here by plain loops, apart from the pass's code.
    @Test func refitSolvesEachLayersLeastSquares() throws {
        let dense = try parseGraph("""
        graph "two_convs" {
          input %0 "input": f32[1,5,5,2]
          const %1 "a/kernel": f32[3,3,3,2] \(pseudoRandom(54, seed: 1))
          const %2 "a/bias": f32[3] [0.1, -0.2, 0.3]
          const %4 "b/kernel": f32[4,3,3,3] \(pseudoRandom(108, seed: 2))
          const %5 "b/bias": f32[4] [0.0, 0.5, -0.5, 0.2]
          %3 "a": f32[1,5,5,3] = conv2d(%0, %1, %2) {stride=1x1 dilation=1x1 padding=same activation=relu}
          %6 "b": f32[1,2,2,4] = conv2d(%3, %4, %5) {stride=2x2 dilation=1x1 padding=valid}
          output %6
        }
        """)
        let samples = seededNormalSamples(shape: [5, 5, 2], count: 10)
        let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, includeEnds: true), calibration: [samples])
        let refitted = try runPipeline(dense, passes: [pruneWeights, refitPruned], context: PassContext(options: options))
        let hidden = try [dense, refitted].map { graph in
            try #require(try observeBatch(graph, [samples]) { $0 == graph.ops[0].outputs[0] }.values.first)
        }
        let layers: [(op: Int, pruned: Tensor, dense: Tensor, same: Bool, stride: Int)] = [
            (0, samples, samples, true, 1), (1, hidden[1], hidden[0], false, 2),
        ]
        for layer in layers {
            let kernel = refitted[refitted.ops[layer.op].inputs[1]].constant!.floats!
            let denseKernel = dense[dense.ops[layer.op].inputs[1]].constant!.floats!
            let p = naivePatches(layer.pruned, size: 3, stride: layer.stride, same: layer.same)
            let o = naivePatches(layer.dense, size: 3, stride: layer.stride, same: layer.same)
            let depth = p[0].count
            let gramDiagonal = (0..<depth).map { k in p.reduce(0.0) { $0 + $1[k] * $1[k] } }
            #expect(kernel.filter { $0 == 0 }.count == kernel.count / 2)
            for channel in 0..<(kernel.count / depth) {
                let w = (0..<depth).map { Double(kernel[channel * depth + $0]) }
                let wd = (0..<depth).map { Double(denseKernel[channel * depth + $0]) }
                let ridge = refitRidge(gramDiagonal, kept: w.filter { $0 != 0 }.count, rows: p.count)
                let residuals: [Double] = p.indices.map { row in dot(p[row], w) - dot(o[row], wd) }
                for k in 0..<depth where w[k] != 0 {
                    let gradient: Double = p.indices.reduce(0.0) { $0 + p[$1][k] * residuals[$1] } + ridge * (w[k] - wd[k])
                    #expect(abs(gradient) <= 1e-3 * gramDiagonal[k].squareRoot(), "layer \(layer.op) channel \(channel) weight \(k)")
                }
            }
        }
    }
}

extension PruningRecoveryTests {
    /// A depthwise layer's refit: one least-squares problem per channel over its window's taps.
    @Test func depthwiseRefitSolvesEachChannelsLeastSquares() throws {
        let dense = try parseGraph("""
        graph "depthwise" {
          input %0 "input": f32[1,5,5,3]
          const %1 "d/kernel": f32[1,3,3,3] \(pseudoRandom(27, seed: 3))
          const %2 "d/bias": f32[3] [0.1, 0.0, -0.1]
          %3 "d": f32[1,5,5,3] = depthwise_conv2d(%0, %1, %2) {stride=1x1 dilation=1x1 padding=same multiplier=1}
          output %3
        }
        """)
        let samples = seededNormalSamples(shape: [5, 5, 3], count: 8)
        let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, includeEnds: true), calibration: [samples])
        let refitted = try runPipeline(dense, passes: [pruneWeights, refitPruned], context: PassContext(options: options))
        let kernel = refitted[refitted.ops[0].inputs[1]].constant!.floats!
        let denseKernel = dense[dense.ops[0].inputs[1]].constant!.floats!
        #expect(kernel != denseKernel.map { abs($0) > 0 ? $0 : 0 })
        let p = naivePatches(samples, size: 3, stride: 1, same: true)
        for channel in 0..<3 {
            let taps = (0..<9).map { $0 * 3 + channel }
            let rows = p.map { row in taps.map { row[$0] } }
            let w = taps.map { Double(kernel[$0]) }
            let wd = taps.map { Double(denseKernel[$0]) }
            let diagonal = (0..<9).map { t in rows.reduce(0.0) { $0 + $1[t] * $1[t] } }
            let ridge = refitRidge(diagonal, kept: w.filter { $0 != 0 }.count, rows: rows.count)
            let residuals: [Double] = rows.map { dot($0, w) - dot($0, wd) }
            #expect(w.filter { $0 != 0 }.count >= 3)
            for t in 0..<9 where w[t] != 0 {
                let gradient: Double = rows.indices.reduce(0.0) { $0 + rows[$1][t] * residuals[$1] } + ridge * (w[t] - wd[t])
                #expect(abs(gradient) <= 1e-3 * diagonal[t].squareRoot(), "channel \(channel) tap \(t)")
            }
        }
    }
}

/// The values `wanted` picks, for every sample of the batch (the interpreter reports them
/// sample by sample).
/// The wanted values of a whole-graph run on `samples` (one tensor per graph input), every
/// batch's stacked.
func observeBatch(_ graph: Graph, _ samples: [Tensor], wanted: (ValueID) -> Bool) throws -> [ValueID: Tensor] {
    var observed: [ValueID: Tensor] = [:]
    _ = try Interpreter(graph: graph).run(samples) { id, value in
        guard wanted(id) else { return }
        var batch = observed[id] ?? Tensor(shape: [0] + value.shape.dropFirst(), data: [])
        batch.shape[0] += value.shape[0]
        batch.data += value.data
        observed[id] = batch
    }
    return observed
}

/// The refit's ridge as documented: the mean of the gram's diagonal times
/// max(1e-4, 0.1 * kept weights / rows).
private func refitRidge(_ diagonal: [Double], kept: Int, rows: Int) -> Double {
    diagonal.reduce(0, +) / Double(diagonal.count) * max(1e-4, 0.1 * Double(kept) / Double(rows))
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0.0) { $0 + $1.0 * $1.1 }
}

/// `count` values in [-1, 1) from a fixed linear congruential sequence, as IR text.
private func pseudoRandom(_ count: Int, seed: UInt32) -> String {
    var state = seed
    let values = (0..<count).map { _ -> String in
        state = state &* 1_664_525 &+ 1_013_904_223
        return String(Double(state >> 8) / Double(1 << 23) - 1)
    }
    return "[" + values.joined(separator: ", ") + "]"
}

/// im2col by loops for a square window over NHWC samples; rows in (sample, y, x) order,
/// each row (ky, kx, channel) as the OHWI filter lays out its weights.
private func naivePatches(_ input: Tensor, size: Int, stride: Int, same: Bool) -> [[Double]] {
    let (count, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let pad = same ? (size - 1) / 2 : 0
    let outHeight = same ? (height + stride - 1) / stride : (height - size) / stride + 1
    let outWidth = same ? (width + stride - 1) / stride : (width - size) / stride + 1
    var rows: [[Double]] = []
    for n in 0..<count {
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                var row: [Double] = []
                for ky in 0..<size {
                    for kx in 0..<size {
                        let (iy, ix) = (y * stride + ky - pad, x * stride + kx - pad)
                        for c in 0..<channels {
                            let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                            row.append(inside ? Double(input.data[((n * height + iy) * width + ix) * channels + c]) : 0)
                        }
                    }
                }
                rows.append(row)
            }
        }
    }
    return rows
}
