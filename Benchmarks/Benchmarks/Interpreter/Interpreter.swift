import Benchmark
import Foundation
import H5ToLiteCore
import H5ToLiteInterpreter
import H5ToLiteTFLite

/// Bundled-interpreter latency on TensorFlow's own float32 and int8 files of the full-size models
/// (scripts/make_fullsize.py --quantized), both cores: one image at a time, and batches of 16 spread
/// over the cores. LiteRT's figures on the same files and threads, in the same run, come from
/// scripts/interpreter_speed.py.
let modelFolder = ProcessInfo.processInfo.environment["H5TOLITE_MODELS"] ?? "/work/fullsize"

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(10),
                                           maxIterations: 30)
    for model in ["densenet121", "inceptionv3", "mobilenetv2"] {
        for variant in ["tf_float32", "tf_int8"] {
            let path = "\(modelFolder)/\(model)/\(variant).tflite"
            guard let graph = try? readTFLite(path: path), let interpreter = try? Interpreter(graph: graph, threads: 2) else { continue }
            let shape = graph[graph.inputs[0]].shape
            for batch in [1, 16] {
                let input = seededNormalSamples(shape: Array(shape.dropFirst()), count: batch)
                Benchmark("run \(model) \(variant) batch \(batch)") { benchmark in
                    for _ in benchmark.scaledIterations {
                        blackHole(try interpreter.run([input]))
                    }
                }
            }
        }
    }
}
