import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// The golden volume models through the pipeline (NumericPreservationTests runs them against
/// Keras after every pass), and the passes' Conv3D cases run by the interpreter.
@Suite struct VolumeModelTests {
    func golden(_ model: String, _ file: String) -> String {
        repository.appendingPathComponent("golden/models/\(model)/\(file)").path
    }

    /// fold-padding's Conv3D case computes what it computed before the pad was folded.
    @Test func foldedPaddingKeepsConv3DOutputs() throws {
        let graph = try parseGraph(try String(contentsOf: passGolden.appendingPathComponent("fold-padding/conv3d.ir"), encoding: .utf8))
        let folded = try runPipeline(graph, passes: [foldPadding])
        #expect(folded.ops.count == graph.ops.count - 1)
        let input = Tensor(shape: [1, 4, 5, 6, 2], data: (0..<240).map { Float(($0 * 13) % 17) - 8 })
        let (before, after) = (try Interpreter(graph: graph).run([input]), try Interpreter(graph: folded).run([input]))
        #expect(before.map(\.data) == after.map(\.data))
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
            let options = PipelineOptions(pruning: PruningOptions(sparsity: 0.5, recovery: recovery), calibration: [fit])
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
