import ArgumentParser
import Foundation
import H5ToLiteDriver
import H5ToLiteInterpreter

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the bundled interpreter on a .tflite model.",
        discussion: """
        Runs the model on seeded normal samples: a third of a second of warm-up, then --runs timed runs of \
        --batch samples each, and prints the median milliseconds per sample. A batch of more \
        than one sample spreads over the threads, one sample per worker. --profile adds the \
        time one sample spends in each kind of kernel, and the ten slowest ops.
        """)

    @Argument(help: "The .tflite model.")
    var model: String

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Timed runs.")
    var runs = 10

    @Option(help: "Samples per run.")
    var batch = 1

    @Flag(help: "Also print the time per kernel kind and the ten slowest ops.")
    var profile = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let result = try benchmarkTFLite(model: model, threads: threads, runs: runs, batch: batch, profile: profile)
        let plural = { (count: Int, word: String) in "\(count) \(word)\(count == 1 ? "" : "s")" }
        print("\(model): \(String(format: "%.2f", result.median)) ms per sample (median of \(plural(runs, "run")) of "
              + "\(plural(batch, "sample")), \(plural(threads, "thread")), \(Interpreter.instructionSet) kernels)")
        let total = result.kinds.reduce(0) { $0 + $1.milliseconds }
        for kind in result.kinds {
            let name = kind.kind.padding(toLength: max(kind.kind.count, 30), withPad: " ", startingAt: 0)
            print("  \(name) \(String(format: "%4d  %8.2f ms  %5.1f%%", kind.count, kind.milliseconds, 100 * kind.milliseconds / max(total, 1e-9)))")
        }
        if !result.slowest.isEmpty { print("slowest ops:") }
        for op in result.slowest {
            let shape = op.shape.map(String.init).joined(separator: "x")
            // TensorFlow names a fused op after all it absorbed, joined by ';': the first is enough.
            let name = op.value.split(separator: ";").first.map(String.init) ?? op.value
            print("  \(String(format: "%8.3f ms", op.milliseconds))  \(name) [\(shape)] (\(op.kind))")
        }
    }
}
