import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// The passes that run calibration data run every input of a model with several
/// (golden/models/multi_io: an image and clinical features), not just the first.
@Suite struct MultiInputPassTests {
    func multiIO() throws -> Graph {
        let path = repository.appendingPathComponent("golden/models/multi_io/keras3.h5").path
        return try importKeras(try loadKerasModel(path: path))
    }

    /// Every value's recorded range is what a whole-graph run on both inputs gives, the
    /// clinical branch's included. The graph keeps its batch_norm, which the interpreter runs
    /// through values of its own that take no range.
    @Test func calibrationRecordsTheRangesOfEveryInputsBranch() throws {
        let imported = try multiIO()
        let samples = seededNormalInputs(shapes: imported.sampleShapes, count: 5)
        #expect(samples.map(\.shape) == [[5, 32, 32, 1], [5, 4]])
        let graph = try runPipeline(imported, passes: [calibrate], context: PassContext(options: PipelineOptions(calibration: samples)))
        let observed = try observeBatch(graph, samples) { graph.values.indices.contains($0) && graph[$0].constant == nil }
        #expect(observed.count == graph.values.filter { $0.constant == nil }.count)
        for (id, tensor) in observed {
            let range = try #require(graph[id].range, "\(graph[id].name)")
            #expect(range.min == tensor.data.min() && range.max == tensor.data.max(), "\(graph[id].name)")
        }
        #expect(graph.values.contains { $0.name == "clinical_dense" && $0.range != nil })
    }

    /// BatchNorm re-estimation steps through the graph with both inputs: the image branch's
    /// BatchNorm holds the statistics its input has in a whole-graph run of the pruned model.
    @Test func batchNormReestimationRunsEveryInput() throws {
        let imported = try multiIO()
        let samples = seededNormalInputs(shapes: imported.sampleShapes, count: 6)
        let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, includeEnds: true, recovery: .batchnorm), calibration: samples)
        let graph = try runPipeline(imported, passes: [removeInferenceNoops, pruneWeights, reestimateBatchNorm],
                                    context: PassContext(options: options))
        let normalization = try #require(graph.ops.first { $0.kind.isBatchNormalization })
        let input = try #require(try observeBatch(graph, samples) { $0 == normalization.inputs[0] }.values.first)
        let (mean, variance) = channelStatistics(input)
        let stored = (graph[normalization.inputs[3]].constant!.floats!, graph[normalization.inputs[4]].constant!.floats!)
        for channel in mean.indices {
            #expect(abs(stored.0[channel] - mean[channel]) <= 1e-4 * max(1, variance[channel].squareRoot()))
            #expect(abs(stored.1[channel] - variance[channel]) <= 1e-4 * max(1, variance[channel]))
        }
    }

    /// The refit steps through the graph with both inputs and brings the pruned model closer to
    /// the dense one on every output.
    @Test func refitRunsEveryInputAndHelpsEveryOutput() throws {
        let imported = try multiIO()
        let samples = seededNormalInputs(shapes: imported.sampleShapes, count: 16)
        func pruned(_ recovery: PruningRecovery) throws -> [Tensor] {
            let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, includeEnds: true, recovery: recovery), calibration: samples)
            let graph = try runPipeline(imported, context: PassContext(options: options))
            return try Interpreter(graph: graph).run(samples)
        }
        let dense = try Interpreter(graph: imported).run(samples)
        for (output, (refitted, raw)) in zip(dense, zip(try pruned(.refit), try pruned(.none))) {
            #expect(meanAbsoluteDifference(refitted, output) < meanAbsoluteDifference(raw, output))
        }
    }
}

private func meanAbsoluteDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.data, b.data).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(max(a.data.count, 1))
}
