import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter

/// A named graph rewrite that always does its one transformation; whether it runs at all is
/// the pipeline's decision (see Pipeline.swift), never the pass's. Names are kebab-case and
/// stable: `--dump-after`, `--stop-after`, `h5tolite opt`, `h5tolite passes` and the tests
/// all refer to passes by name.
public struct Pass: Sendable {
    public let name: String
    public let summary: String
    /// The earlier passes whose starting graph this one measures against: of those that ran,
    /// the first listed (`PassContext.graphBefore(for:)`); the pass manager keeps only graphs
    /// some pass of the run reads.
    public let readsGraphBefore: [String]
    public let run: @Sendable (inout Graph, PassContext) throws -> Void

    public init(name: String, summary: String, readsGraphBefore: [String] = [],
                run: @escaping @Sendable (inout Graph, PassContext) throws -> Void) {
        self.name = name
        self.summary = summary
        self.readsGraphBefore = readsGraphBefore
        self.run = run
    }
}

/// Every pass, in the order the pipelines run them. The registry only names passes; which
/// of them run for a given conversion is chosen by `pipeline(for:)`.
public let passRegistry: [Pass] = [
    removeInferenceNoops,
    constantFolding,
    pruneChannels,
    pruneWeights,
    refitPruned,
    reestimateBatchNorm,
    sliceChannels,
    lowerBatchNorm,
    foldBatchNorm,
    fuseActivations,
    foldPadding,
    fuseHardSwish,
    quantizeFloat16,
    quantizeWeights,
    calibrate,
    quantizeInt8,
    correctInt8Biases,
    dedupConstants,
    deadCodeElimination,
]

public func pass(named name: String) -> Pass? {
    passRegistry.first { $0.name == name }
}

/// The parameters passes read (sparsity, calibration samples, layers kept in float, ...),
/// and the report lines they leave for the user.
public final class PassContext {
    public let options: PipelineOptions
    public private(set) var report: [String] = []
    /// Told (what, done, total) as a long pass goes, for a progress bar.
    let progress: (String, Int, Int) -> Void
    /// The graph as passes of this run found it, for the passes that measure against an earlier
    /// form of the model (the refit against the dense weights, bias correction against the
    /// float graph) instead of redoing the earlier pass's work.
    private var graphsBefore: [String: Graph] = [:]

    public init(options: PipelineOptions = PipelineOptions(), progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }) {
        self.options = options
        self.progress = progress
    }

    func note(_ line: String) {
        report.append(line)
    }

    /// The calibration samples, one tensor per model input, which `pass` cannot run without.
    func calibrationSamples(for pass: String) throws -> [Tensor] {
        guard let samples = options.calibration else {
            throw H5ToLiteError("\(pass) needs calibration data (--calibration X.npy, batch first, or an image folder)")
        }
        return samples
    }

    func record(_ graph: Graph, before pass: String) {
        graphsBefore[pass] = graph
    }

    /// The graph the first of `reader.readsGraphBefore` that ran in this run started from.
    func graphBefore(for reader: Pass) throws -> Graph {
        guard let graph = reader.readsGraphBefore.lazy.compactMap({ self.graphsBefore[$0] }).first else {
            throw H5ToLiteError("\(reader.name) needs \(reader.readsGraphBefore.joined(separator: " or ")) to run before it in the same pipeline")
        }
        return graph
    }
}

/// What instrumentation sees after each pass: dumps and `--print-after-change` hang off
/// this, not off the passes.
public struct PassEvent {
    /// Position of the pass in the pipeline, from 0.
    public let index: Int
    public let pass: Pass
    public let before: Graph
    public let after: Graph

    /// Whether the pass changed the graph (compares only what differs, so it is cheap when
    /// a pass left everything in place).
    public var changed: Bool { before != after }
}

/// Runs passes in order, verifying the graph after each; `observe` sees every pass's result.
public func runPipeline(_ graph: Graph, passes: [Pass], context: PassContext = PassContext(),
                        observe: (PassEvent) throws -> Void = { _ in }) throws -> Graph {
    // Each kept graph holds on to the constants the passes after it replace.
    let read = Set(passes.flatMap(\.readsGraphBefore))
    var current = graph
    for (index, pass) in passes.enumerated() {
        var next = current
        if read.contains(pass.name) { context.record(current, before: pass.name) }
        do {
            try pass.run(&next, context)
            try verify(next)
        } catch {
            throw PassFailure(pass: pass.name, lastGood: current, underlying: error)
        }
        try observe(PassEvent(index: index, pass: pass, before: current, after: next))
        current = next
    }
    return current
}

/// Runs the pipeline `options` call for.
public func runPipeline(_ graph: Graph, context: PassContext = PassContext(),
                        observe: (PassEvent) throws -> Void = { _ in }) throws -> Graph {
    try runPipeline(graph, passes: pipeline(for: context.options).passes, context: context, observe: observe)
}

/// A pass that threw or broke the graph; carries the last graph that verified.
public struct PassFailure: Error, CustomStringConvertible {
    public let pass: String
    public let lastGood: Graph
    public let underlying: Error

    public var description: String { "pass '\(pass)' failed: \(underlying)" }
}
