import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteTFLite

/// `h5tolite bench`: how fast the bundled interpreter runs a .tflite file, on seeded normal
/// samples (the values do not change the work an inference does), after a warm-up.
public struct BenchmarkResult {
    /// Milliseconds per sample of each timed run, after one warm-up run.
    public let millisecondsPerSample: [Double]
    /// With profiling: per kernel kind, the milliseconds one sample spends in it and how many
    /// kernels of that kind run, slowest kind first.
    public let kinds: [(kind: String, count: Int, milliseconds: Double)]
    /// With profiling: the ops one sample spends longest in, slowest first (at most ten): the
    /// value each computes, its shape, its kernel kind and milliseconds.
    public let slowest: [(value: String, shape: [Int], kind: String, milliseconds: Double)]

    public var median: Double {
        let sorted = millisecondsPerSample.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}

public func benchmarkTFLite(model: String, threads: Int, runs: Int, batch: Int, profile: Bool) throws -> BenchmarkResult {
    let graph = try readTFLite(path: model)
    do {
        return try benchmark(graph, threads: threads, runs: runs, batch: batch, profile: profile)
    } catch {
        throw H5ToLiteError(file: model, "\(error)")
    }
}

/// The bundled interpreter's speed on `graph` (IR or a file read back), as `bench` measures it.
public func benchmark(_ graph: Graph, threads: Int, runs: Int, batch: Int = 1, profile: Bool = false) throws -> BenchmarkResult {
    let interpreter = try Interpreter(graph: graph, threads: threads)
    let inputs = graph.inputs.map { id in
        let shape = graph[id].shape
        return seededNormalSamples(shape: Array(shape.dropFirst()), count: batch * (shape.first ?? 1))
    }
    // Warm-up: a third of a second, or one run if that takes longer, so that the threads, the
    // arena's pages and the processor's clock have settled before the timed runs.
    let warmUpEnd = DispatchTime.now().uptimeNanoseconds + 300_000_000
    repeat { _ = try interpreter.run(inputs) } while DispatchTime.now().uptimeNanoseconds < warmUpEnd
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try interpreter.run(inputs)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(batch))
    }
    var kinds: [String: (count: Int, milliseconds: Double)] = [:]
    var ops: [ValueID: (kind: String, milliseconds: Double)] = [:]
    if profile {
        let repeats = max(runs, 1)
        for _ in 0..<repeats {
            for op in try interpreter.timeOps(inputs) {
                kinds[op.kind, default: (0, 0)].milliseconds += op.seconds * 1000 / Double(repeats)
                ops[op.value, default: (op.kind, 0)].milliseconds += op.seconds * 1000 / Double(repeats)
            }
        }
        for op in try interpreter.timeOps(inputs) { kinds[op.kind]!.count += 1 }
    }
    let slowest = ops.sorted { ($0.value.milliseconds, $1.key) > ($1.value.milliseconds, $0.key) }.prefix(10).map { id, op in
        (graph[id].name, graph[id].shape, op.kind, op.milliseconds)
    }
    return BenchmarkResult(millisecondsPerSample: times,
                           kinds: kinds.map { ($0.key, $0.value.count, $0.value.milliseconds) }.sorted { $0.milliseconds > $1.milliseconds },
                           slowest: slowest)
}
