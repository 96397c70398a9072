import COpenBLAS
import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter

/// Least-squares refit of pruned layers (`--prune-recovery refit`, the default): for each
/// layer prune-weights pruned, in order, the weights pruning kept are solved so that the
/// layer, fed what the pruned network gives it on the calibration data, reproduces what the
/// dense layer computed from what the dense network gave it (per output channel:
/// min |P w - O w_dense|^2 over the kept positions). Each layer therefore also absorbs the
/// error of the pruned layers before it. The zeros stay where magnitude put them. Measured
/// on the trained golden model (mean AUROC 0.977) at 0.7 sparsity: 0.753 pruned as is,
/// 0.898 with BatchNorm re-estimation, 0.967 refitted. The dense network is the graph
/// prune-weights (or prune-channels, when it ran first) started from. After prune-channels,
/// the layers reading removed channels are the pruned ones: their zeroed input channels stay
/// zero and the rest is refitted.
///
///     const %5 "dense/kernel": f32[2,2] [0.0, -2.0, 0.0, 3.0]
///   ->
///     const %5 "dense/kernel": f32[2,2] [0.0, -1.93, 0.0, 3.12]
let refitPruned = Pass(name: "refit-pruned",
                       summary: "refit the weights pruning kept by least squares on calibration data (--prune-recovery refit)",
                       readsGraphBefore: ["prune-channels", "prune-weights"]) { graph, context in
    let samples = try context.calibrationSamples(for: "refit-pruned")
    let dense = try context.graphBefore(for: refitPruned)
    guard dense.ops.count == graph.ops.count else {
        throw H5ToLiteError("refit-pruned: the graph has \(graph.ops.count) ops, the dense graph before prune-weights \(dense.ops.count)")
    }
    // The layers prune-weights gave new weights.
    let targets = graph.ops.indices.filter { index in
        graph.ops[index].kind.facts.weights != nil && filterOperand(of: graph.ops[index]) != filterOperand(of: dense.ops[index])
    }
    let problems = try refitPrunedWeights(&graph, dense: dense, targets: targets, samples: samples) { done in
        context.progress("refit-pruned: refitting \(targets.count) layers", done, targets.count)
    }
    context.note("refit-pruned: kept weights refitted on \(samples.sampleCount) calibration samples"
                 + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; ")))
}

private func refitPrunedWeights(_ graph: inout Graph, dense: Graph, targets: [Int], samples: [Tensor],
                        progress: (Int) -> Void) throws -> [String] {
    var reference = StagedRunner(graph: dense, samples: samples)
    var pruned = StagedRunner(graph: graph, samples: samples)
    var report: [String] = []
    let refittable = Set(targets)
    var done = 0
    for index in graph.ops.indices {
        if refittable.contains(index) {
            try refitLayer(index, pruned: &pruned, reference: reference, dense: dense, report: &report)
            done += 1
            progress(done)
        }
        try reference.step(index)
        try pruned.step(index)
    }
    graph = pruned.graph
    return report
}

private func refitLayer(_ index: Int, pruned: inout StagedRunner, reference: StagedRunner, dense: Graph,
                        report: inout [String]) throws {
    let op = pruned.graph.ops[index]
    guard let problem = RefitProblem(op: op, graph: pruned.graph, pruned: try pruned.firstInput(of: index),
                                     reference: try reference.firstInput(of: index)) else {
        report.append("\(op.origin): no refit for \(op.kind.name), kept as pruned")
        return
    }
    let filterID = filterOperand(of: op)
    let kernel = pruned.graph[filterID].constant?.floats ?? []
    let denseKernel = dense[filterOperand(of: dense.ops[index])].constant?.floats ?? []
    let (refitted, failed) = problem.solve(kernel: kernel, dense: denseKernel)
    pruned.graph[filterID].constant = .float32(refitted)
    if failed > 0 { report.append("\(op.origin): \(failed) channels kept as pruned (singular)") }
}

/// The normal equations of one layer's refit, accumulated over (a sample of) its input rows.
/// A conv or dense layer has one set, shared by all its output channels, over its patch
/// columns; a depthwise layer one set per channel, over that channel's window taps.
struct RefitProblem {
    /// Where a layer's weights for one output channel sit in its filter.
    enum Layout {
        /// One row per channel: OHWI (CONV_2D) or (O, I) (FULLY_CONNECTED).
        case channelRows
        /// Channels along the last axis, one shared set of equations: DHWIO (CONV_3D).
        case channelsLast
        /// Channels along the last axis, one set of equations per channel: 1HWC (DEPTHWISE_CONV_2D).
        case depthwise
    }

    /// Rows per layer at most: several times the largest kernels' H*W*I (1152 in DenseNet121),
    /// without a 224x224 model's millions of pixels. Measured on DenseNet121 at 0.5 and the
    /// trained golden model at 0.7: the same accuracy from 8192 to 65536 rows (48 s vs 67 s).
    static let maxRows = 1 << 14
    /// Rows per matrix product, summed into the float64 totals after each.
    static let chunkRows = 4096

    /// Columns of one set of equations.
    let width: Int
    let channels: Int
    let layout: Layout
    /// Per set, P^T P and P^T O (width x width): pruned rows against themselves and
    /// against the reference rows.
    var grams: [[Double]]
    var crosses: [[Double]]
    /// Patch rows summed so far.
    var rowCount = 0

    init?(op: Op, graph: Graph, pruned: Tensor, reference: Tensor) {
        let filter = graph[filterOperand(of: op)].shape
        let output = graph[op.outputs[0]].shape
        switch op.kind {
        case .conv2d(let window, _):
            self.init(width: filter[1] * filter[2] * filter[3], channels: filter[0], layout: .channelRows)
            accumulate(ConvolutionPatches(input: pruned.shape, filter: filter, output: output, window: window), pruned, reference)
        case .depthwiseConv2d(let window, let multiplier, _) where multiplier == 1:
            // Its 1HWC filter gathers the patches of a CONV_2D over all channels; each channel
            // then reads its own column of every tap.
            self.init(width: filter[1] * filter[2], channels: filter[3], layout: .depthwise)
            accumulate(ConvolutionPatches(input: pruned.shape, filter: filter, output: output, window: window), pruned, reference)
        case .conv3d(let window, _):
            self.init(width: filter[0] * filter[1] * filter[2] * filter[3], channels: filter[4], layout: .channelsLast)
            accumulate(VolumePatches(input: pruned.shape, filter: filter, output: [pruned.shape[0]] + output.dropFirst(), window: window),
                       pruned, reference)
        case .fullyConnected:
            self.init(width: filter[1], channels: filter[0], layout: .channelRows)
            accumulate(pruned.data, reference.data)
        default:
            return nil
        }
    }

    private init(width: Int, channels: Int, layout: Layout) {
        self.width = width
        self.channels = channels
        self.layout = layout
        let sets = layout == .depthwise ? channels : 1
        grams = Array(repeating: [Double](repeating: 0, count: width * width), count: sets)
        crosses = grams
    }

    private mutating func accumulate(_ patches: some PatchRows, _ pruned: Tensor, _ reference: Tensor) {
        let samples = pruned.shape[0]
        let step = max(1, (samples * patches.pixelsPerSample + Self.maxRows - 1) / Self.maxRows)
        // Several samples' rows per product: one product per sample is slow for small images.
        var chunk: (pruned: [Float], reference: [Float]) = ([], [])
        for sample in 0..<samples {
            let pixels = Array(stride(from: (sample * 7) % step, to: patches.pixelsPerSample, by: step))
            chunk.pruned += patches.rows(of: pruned, sample: sample, pixels: pixels)
            chunk.reference += patches.rows(of: reference, sample: sample, pixels: pixels)
            if chunk.pruned.count >= Self.chunkRows * patches.depth || sample == samples - 1 {
                accumulate(chunk.pruned, chunk.reference)
                chunk = ([], [])
            }
        }
    }

    /// Adds P^T P and P^T O for these rows (row-major patches) to the sums.
    private mutating func accumulate(_ prunedRows: [Float], _ referenceRows: [Float]) {
        rowCount += prunedRows.count / (layout == .depthwise ? width * channels : width)
        if layout == .depthwise {
            addPerChannelProducts(prunedRows, referenceRows)
            return
        }
        let rows = prunedRows.count / width
        guard rows > 0 else { return }
        var product = [Float](repeating: 0, count: width * width)
        // P^T P is symmetric: one triangle, mirrored.
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(width), Int32(rows),
                    1, prunedRows, Int32(width), 0, &product, Int32(width))
        for i in 0..<width {
            for j in 0..<i { product[i * width + j] = product[j * width + i] }
        }
        add(product, to: &grams[0])
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(width), Int32(width), Int32(rows),
                    1, prunedRows, Int32(width), referenceRows, Int32(width), 0, &product, Int32(width))
        add(product, to: &crosses[0])
    }

    private func add(_ product: [Float], to sum: inout [Double]) {
        sum.withUnsafeMutableBufferPointer { sum in
            product.withUnsafeBufferPointer { product in
                for i in product.indices { sum[i] += Double(product[i]) }
            }
        }
    }

    /// Depthwise: tap t of channel c sits at column t * channels + c of a patch row.
    private mutating func addPerChannelProducts(_ prunedRows: [Float], _ referenceRows: [Float]) {
        let rowLength = width * channels
        let rows = prunedRows.count / max(rowLength, 1)
        for channel in 0..<channels {
            var gram = [Double](repeating: 0, count: width * width)
            var cross = gram
            for row in 0..<rows {
                let base = row * rowLength + channel
                for t in 0..<width {
                    let p = Double(prunedRows[base + t * channels])
                    for u in 0..<width {
                        gram[t * width + u] += p * Double(prunedRows[base + u * channels])
                        cross[t * width + u] += p * Double(referenceRows[base + u * channels])
                    }
                }
            }
            for i in gram.indices {
                grams[channel][i] += gram[i]
                crosses[channel][i] += cross[i]
            }
        }
    }

    /// Where weight `column` of output channel `channel` sits in the kernel: OHWI or (O, I)
    /// rows per channel, or a DHWIO or depthwise 1HWC filter's taps strided by the channel count.
    private func position(_ channel: Int, _ column: Int) -> Int {
        layout == .channelRows ? channel * width + column : column * channels + channel
    }

    /// New weights for `kernel` (zeros = pruned) and how many channels could not be solved
    /// and keep their pruned weights.
    func solve(kernel: [Float], dense: [Float]) -> ([Float], Int) {
        let meanDiagonals = grams.map { gram in (0..<width).reduce(0.0) { $0 + gram[$1 * width + $1] } / Double(max(width, 1)) }
        var result = kernel
        var failed = 0
        for channel in 0..<channels {
            let set = layout == .depthwise ? channel : 0
            let kept = (0..<width).filter { kernel[position(channel, $0)] != 0 }
            guard !kept.isEmpty else { continue }
            let (gram, cross) = (grams[set], crosses[set])
            // The ridge pulls towards the weights as pruning left them, harder where few rows pin
            // down many unknowns: a 7x7 layer sees 49 rows per sample, and fitting them exactly
            // overfits the calibration data (full-size MobileNetV2, 32 samples, 0.5: verify mean
            // error 0.115 with a fixed 1e-4 ridge, 0.011 with this one, 0.022 as pruned; the
            // factor 0.1 was the best of 0.1, 0.3, 1 and 4 there and on DenseNet121).
            let shrink = max(1e-4, 0.1 * Double(kept.count) / Double(max(rowCount, 1)))
            let ridge = max(meanDiagonals[set] * shrink, 1e-12)
            var matrix = [Double](repeating: 0, count: kept.count * kept.count)
            for (row, i) in kept.enumerated() {
                for (column, j) in kept.enumerated() { matrix[row * kept.count + column] = gram[i * width + j] }
                matrix[row * kept.count + row] += ridge
            }
            // The right side: (P^T O w_dense) on the kept columns, plus the ridge's pull
            // towards the weights as pruning left them.
            let denseWeights = (0..<width).map { Double(dense[position(channel, $0)]) }
            var solution = kept.map { i in
                (0..<width).reduce(0.0) { $0 + cross[i * width + $1] * denseWeights[$1] } + ridge * denseWeights[i]
            }
            guard choleskySolve(&matrix, &solution), solution.allSatisfy(\.isFinite) else {
                failed += 1
                continue
            }
            for (index, column) in kept.enumerated() { result[position(channel, column)] = Float(solution[index]) }
        }
        return (result, failed)
    }
}

/// Solves the symmetric positive definite system in place (LAPACK dposv); false if the
/// matrix is not positive definite.
private func choleskySolve(_ matrix: inout [Double], _ rightSide: inout [Double]) -> Bool {
    var n = Int32(rightSide.count)
    var one: Int32 = 1
    var info: Int32 = 0
    var upper = CChar(UInt8(ascii: "U"))
    dposv_(&upper, &n, &one, &matrix, &n, &rightSide, &n, &info, 1)
    return info == 0
}
