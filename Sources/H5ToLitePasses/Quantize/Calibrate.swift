import Foundation
import H5ToLiteIR
import H5ToLiteInterpreter

/// `--quantize int8`, first step: runs the calibration samples through the float graph with
/// the bundled interpreter and records each value's smallest and largest value in the IR
/// (`range(min, max)`), so that quantize-int8 can be tested on stored ranges alone. With
/// `--calibration-method mse` the same run also fills each value's histogram, and the range
/// recorded is the one whose int8 grid errs least on it (`lowestErrorRange`); the model's
/// inputs keep min/max, as clipping them measured worse (their error reaches every layer).
///
///     %3 "conv": f32[1,8,8,4] = conv2d(%0, %1, %2) {...}
///   ->
///     %3 "conv": f32[1,8,8,4] range(-1.25, 3.5) = conv2d(%0, %1, %2) {...}
let calibrate = Pass(name: "calibrate",
                     summary: "record every value's range on the calibration data (--quantize int8)") { graph, context in
    let samples = try context.calibrationSamples(for: "calibrate")
    let method = context.options.calibrationMethod
    let measured = Ranges()
    _ = try Interpreter(graph: graph).runConcurrently(samples) { id, tensor in
        guard let low = tensor.data.min(), let high = tensor.data.max() else { return }
        measured.widen(id, ValueRange(min: low, max: high), histogram: method == .mse ? Histogram(tensor.data) : nil)
    }
    var ranges = measured.ranges
    if method == .mse {
        for (id, histogram) in measured.histograms
        where graph.values.indices.contains(id) && graph[id].constant == nil && !graph.inputs.contains(id) {
            ranges[id] = lowestErrorRange(histogram, observed: ranges[id]!)
        }
    }
    // The interpreter runs a batch_norm as a multiply and an add through values of its own,
    // numbered past the graph's: only the graph's values take ranges.
    for (id, range) in ranges where graph.values.indices.contains(id) && graph[id].constant == nil {
        graph[id].range = range
    }
    context.note("calibrate: \(samples.sampleCount) samples, \(ranges.count) values measured"
                 + (method == .mse ? ", ranges chosen by squared error" : ""))
}

/// Each value's range, and histogram if asked, over the samples the workers have seen so
/// far; both are order-free (min, max and integer counts), so any thread count gives the same.
private final class Ranges: @unchecked Sendable {
    private(set) var ranges: [ValueID: ValueRange] = [:]
    private(set) var histograms: [ValueID: Histogram] = [:]
    private let lock = NSLock()

    func widen(_ id: ValueID, _ range: ValueRange, histogram: Histogram?) {
        lock.withLock {
            let old = ranges[id] ?? range
            ranges[id] = ValueRange(min: min(old.min, range.min), max: max(old.max, range.max))
            if let histogram { histograms[id, default: Histogram()].add(histogram) }
        }
    }
}
