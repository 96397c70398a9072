import Benchmark
import Foundation
import H5ToLiteKeras
import H5ToLitePasses
import H5ToLiteTFLite

/// Full-size models made by `scripts/make_fullsize.py` (not committed: hundreds of MB).
/// TensorFlow's converter takes about 20 s for DenseNet121 on the 2-core reference machine.
let modelFolder = ProcessInfo.processInfo.environment["H5TOLITE_MODELS"] ?? "/work/fullsize"

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
                                           maxDuration: .seconds(20), maxIterations: 10)
    for model in ["densenet121", "densenet201", "inceptionv3", "mobilenetv2", "resnet50"] {
        for file in ["tfkeras.h5", "model.keras"] {
            let path = "\(modelFolder)/\(model)/\(file)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            Benchmark("convert \(model) \(file)") { benchmark in
                let graph = try runPipeline(try importKeras(try loadKerasModel(path: path)))
                blackHole(try writeTFLite(graph))
            }
        }
    }
}
