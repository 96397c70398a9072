import H5ToLiteIR
import H5ToLiteInterpreter

/// A named graph rewrite. Names are kebab-case and stable: `--dump-after`, `h5tolite passes`
/// and the tests all refer to passes by name.
public struct Pass: Sendable {
    public let name: String
    public let summary: String
    public let run: @Sendable (inout Graph, PassContext) throws -> Void

    public init(name: String, summary: String, run: @escaping @Sendable (inout Graph, PassContext) throws -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

/// How weights and activations are stored in the written file.
public enum QuantizationMode: String, Sendable, CaseIterable {
    /// Everything float32.
    case none
    /// Weights stored as float16, turned back into float32 by DEQUANTIZE ops.
    case float16
    /// int8 weights, float32 activations (TFLite's hybrid kernels).
    case dynamic
    /// int8 weights and activations, scales from calibration data.
    case int8
}

/// What the user asked the pipeline to do beyond the default rewrites.
public struct PipelineOptions: Sendable {
    public var pruning: PruningOptions?
    public var quantization: QuantizationMode
    /// Preprocessed samples, batch first, for calibrating int8 activations.
    public var calibration: Tensor?
    /// Layers (Keras names) that stay float32 in an int8 model.
    public var keepFloat: Set<String>
    /// The element type of the model's inputs and outputs in an int8 model.
    public var io: DType
    /// After pruning, re-measure BatchNorm statistics on the calibration data.
    /// After int8 quantization, fold each channel's mean shift back into the biases.
    public var biasCorrection: Bool = false
    /// With float model outputs, compute a final sigmoid or softmax in float.
    public var floatHead: Bool = true

    public init(pruning: PruningOptions? = nil, quantization: QuantizationMode = .none, calibration: Tensor? = nil,
                keepFloat: Set<String> = [], io: DType = .float32) {
        self.pruning = pruning
        self.quantization = quantization
        self.calibration = calibration
        self.keepFloat = keepFloat
        self.io = io
    }
}

/// Settings every pass can read, and the report lines passes leave for the user.
public final class PassContext {
    public let options: PipelineOptions
    public private(set) var report: [String] = []
    /// Told (what, done, total) as a long pass goes, for a progress bar.
    let progress: (String, Int, Int) -> Void

    public init(options: PipelineOptions = PipelineOptions(), progress: @escaping (String, Int, Int) -> Void = { _, _, _ in }) {
        self.options = options
        self.progress = progress
    }

    func note(_ line: String) {
        report.append(line)
    }
}

/// Every pass, in the order the default pipeline runs them.
public let passRegistry: [Pass] = [
    removeInferenceNoops,
    constantFolding,
    pruneWeights,
    reestimateBatchNorm,
    lowerBatchNorm,
    foldBatchNorm,
    fuseActivations,
    foldPadding,
    quantizeFloat16,
    quantizeWeights,
    calibrate,
    quantizeInt8,
    dedupConstants,
    deadCodeElimination,
]

public func pass(named name: String) -> Pass? {
    passRegistry.first { $0.name == name }
}

/// Runs passes in order, verifying the graph after each; `observe` sees the graph after
/// each pass (dumps hang off it, not off the passes).
public func runPipeline(_ graph: Graph, passes: [Pass] = passRegistry, context: PassContext = PassContext(),
                        observe: (Int, Pass, Graph) throws -> Void = { _, _, _ in }) throws -> Graph {
    var current = graph
    for (index, pass) in passes.enumerated() {
        var next = current
        do {
            try pass.run(&next, context)
            try verify(next)
        } catch {
            throw PassFailure(pass: pass.name, lastGood: current, underlying: error)
        }
        current = next
        try observe(index, pass, current)
    }
    return current
}

/// A pass that threw or broke the graph; carries the last graph that verified.
public struct PassFailure: Error, CustomStringConvertible {
    public let pass: String
    public let lastGood: Graph
    public let underlying: Error

    public var description: String { "pass '\(pass)' failed: \(underlying)" }
}
