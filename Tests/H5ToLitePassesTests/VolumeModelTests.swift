import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// The golden volume models as imported and after the pipeline, run by the interpreter against
/// Keras's own outputs: the 3D pools and UpSampling3D lowered to 2D ops on reshaped volumes
/// (SAME and VALID, odd sizes, strides unlike the window), Conv3D with BatchNorm folded in.
@Suite struct VolumeModelTests {
    func golden(_ model: String, _ file: String) -> String {
        repository.appendingPathComponent("golden/models/\(model)/\(file)").path
    }

    @Test(arguments: ["layers_pool3d", "layers_conv3d", "mini_ct3d"])
    func interpreterGivesKerasOutputs(model: String) throws {
        let imported = try importKeras(try loadKerasModel(path: golden(model, "keras3.h5")))
        let input = try readNPY(path: golden(model, "input.npy"))
        let expected = try readNPY(path: golden(model, "output_keras3.npy"))
        for graph in [imported, try runPipeline(imported)] {
            let output = try Interpreter(graph: graph).run([input])[0]
            #expect(output.shape == expected.shape)
            let error = zip(output.data, expected.data).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(error <= 1e-5, "\(model): \(error)")
        }
    }

    @Test func batchNormsFoldIntoConv3DAndReluFuses() throws {
        let graph = try runPipeline(try importKeras(try loadKerasModel(path: golden("mini_ct3d", "keras3.h5"))))
        let convolutions = graph.ops.filter { $0.kind.name == "conv3d" }
        #expect(convolutions.count == 3 && convolutions.allSatisfy { $0.kind.fusedActivation == .relu && $0.inputs.count == 3 })
        #expect(!graph.ops.contains { ["mul", "add", "relu", "batch_norm"].contains($0.kind.name) })
    }

    /// prune-weights prunes the Conv3D kernels between the first conv and the head; refit-pruned
    /// refits the weights it kept (the zeros stay), which brings the pruned model back towards
    /// the dense one on samples the refit did not see.
    @Test func pruningPrunesConv3DAndRefitRecovers() throws {
        let imported = try importKeras(try loadKerasModel(path: golden("mini_ct3d", "keras3.h5")))
        let calibration = try readNPY(path: golden("mini_ct3d", "calibration.npy"))
        let sample = calibration.data.count / calibration.shape[0]
        func samples(_ range: Range<Int>) -> Tensor {
            Tensor(shape: [range.count] + calibration.shape.dropFirst(), data: Array(calibration.data[(range.lowerBound * sample)..<(range.upperBound * sample)]))
        }
        let (fit, held) = (samples(0..<16), samples(16..<32))
        let dense = try Interpreter(graph: imported).run([held])[0]
        func pruned(_ recovery: PruningRecovery) throws -> (Graph, Float) {
            let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, recovery: recovery), calibration: fit)
            let graph = try runPipeline(imported, context: PassContext(options: options))
            let output = try Interpreter(graph: graph).run([held])[0]
            return (graph, zip(output.data, dense.data).map { abs($0 - $1) }.reduce(0, +) / Float(output.data.count))
        }
        let (raw, rawError) = try pruned(.none)
        let (refitted, refitError) = try pruned(.refit)
        for graph in [raw, refitted] {
            let kernels = graph.ops.filter { $0.kind.name == "conv3d" }.map { graph[$0.inputs[1]].constant!.floats! }
            #expect(!kernels[0].contains(0))
            for kernel in kernels.dropFirst() {
                #expect(kernel.filter { $0 == 0 }.count == kernel.count / 2)
            }
        }
        #expect(refitError < 0.5 * rawError, "refit \(refitError), as pruned \(rawError)")
    }
}
