import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

/// Every float pass must leave the model's answers unchanged: after each pass the graph is
/// run on the golden inputs and compared with the graph as imported (and with Keras).
@Suite struct NumericPreservationTests {
    @Test(arguments: ["mini_densenet", "mini_inception", "mini_mobilenetv2", "chexnet_nested", "layers_conv",
                      "layers_activation", "layers_shape", "layers_merge", "layers_conv3d", "layers_pool3d", "mini_ct3d"])
    func floatPassesPreserveOutputs(model: String) throws {
        let folder = repository.appendingPathComponent("golden/models/\(model)")
        let imported = try importKeras(try loadKerasModel(path: folder.appendingPathComponent("keras3.h5").path))
        let inputs = try readNPY(path: folder.appendingPathComponent("input.npy").path)
        let keras = try readNPY(path: folder.appendingPathComponent("output_keras3.npy").path)
        let reference = try Interpreter(graph: imported).run([inputs])[0]
        #expect(maxRelativeError(reference, keras) <= 1e-5)
        _ = try runPipeline(imported) { event in
            let outputs = try Interpreter(graph: event.after).run([inputs])[0]
            #expect(maxRelativeError(outputs, reference) <= 1e-5, "after \(event.pass.name)")
        }
    }
}

/// Largest |a - b| / max(1, |b|), the tolerance the end-to-end tests use.
func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.data, b.data).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0
}
