import H5ToLiteCore
import H5ToLiteIR

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

/// What the user asked for: the mode and pruning choose the pipeline; the rest are the
/// parameters its passes read.
public struct PipelineOptions: Sendable {
    public var pruning: PruningOptions?
    /// `--prune-channels F`.
    public var channelPruning: ChannelPruningOptions?
    public var quantization: QuantizationMode
    /// Preprocessed samples, one tensor per model input in the model's input order, batch
    /// first, the same count in each: calibrate int8 activations, recover pruning.
    public var calibration: [Tensor]?
    /// Layers (Keras names) that stay float32 in an int8 model.
    public var keepFloat: Set<String>
    /// The element type of the model's inputs and outputs in an int8 model.
    public var io: DType
    /// After int8 quantization, fold each channel's mean shift back into the biases.
    public var biasCorrection: Bool = false
    /// With float model outputs, compute a final sigmoid or softmax in float.
    public var floatHead: Bool = true
    /// How int8 activation ranges are chosen from what calibration saw.
    public var calibrationMethod = CalibrationMethod.minmax

    public init(pruning: PruningOptions? = nil, quantization: QuantizationMode = .none, calibration: [Tensor]? = nil,
                keepFloat: Set<String> = [], io: DType = .float32) {
        self.pruning = pruning
        self.quantization = quantization
        self.calibration = calibration
        self.keepFloat = keepFloat
        self.io = io
    }
}

/// A named group of passes. Stages let a caller run part of a pipeline: `--max-drop`
/// calibrates once and re-runs only the quantizing stages for each trial.
public struct Stage: Sendable {
    public let name: String
    public let passes: [Pass]
}

/// The passes one conversion runs, in order.
public struct Pipeline: Sendable {
    public let name: String
    public let stages: [Stage]

    public var passes: [Pass] { stages.flatMap(\.passes) }

    /// The stages up to and including `stage`, and the rest.
    public func split(after stage: String) -> (head: [Pass], tail: [Pass]) {
        let cut = (stages.firstIndex { $0.name == stage } ?? stages.count - 1) + 1
        return (stages[..<cut].flatMap(\.passes), stages[cut...].flatMap(\.passes))
    }
}

/// The pipeline for `options`:
///
///     cleanup:  remove-inference-noops, constant-folding
///     prune:    [prune-channels,] [prune-weights,] then refit-pruned or reestimate-batchnorm,
///               [slice-channels]   (--prune-channels F / --prune S; recovery with --calibration)
///     lower:    lower-batchnorm, fold-batchnorm, fuse-activations, fold-padding, fuse-hard-swish
///     float16:  quantize-float16 | dynamic: quantize-weights
///     int8:     calibrate; quantize: quantize-int8 [, correct-int8-biases]
///     post:     dedup-constants, dead-code-elimination
///
/// Pruning runs before BatchNorm folding so that it ranks the weights the model was trained with.
public func pipeline(for options: PipelineOptions) -> Pipeline {
    var stages = [Stage(name: "cleanup", passes: [removeInferenceNoops, constantFolding])]
    var name = [String]()
    if options.pruning != nil || options.channelPruning != nil {
        let channels = options.channelPruning != nil
        let recovery = options.pruning?.recovery ?? options.channelPruning?.recovery ?? .refit
        stages.append(Stage(name: "prune", passes: (channels ? [pruneChannels] : []) + (options.pruning != nil ? [pruneWeights] : [])
                            + recoveryPasses(recovery, options) + (channels ? [sliceChannels] : [])))
        if channels { name.append("prune-channels") }
        if options.pruning != nil { name.append("prune") }
    }
    stages.append(Stage(name: "lower", passes: [lowerBatchNorm, foldBatchNorm, fuseActivations, foldPadding, fuseHardSwish]))
    switch options.quantization {
    case .none:
        name.append("float32")
    case .float16:
        stages.append(Stage(name: "quantize", passes: [quantizeFloat16]))
        name.append("float16")
    case .dynamic:
        stages.append(Stage(name: "quantize", passes: [quantizeWeights]))
        name.append("dynamic")
    case .int8:
        stages.append(Stage(name: "calibrate", passes: [calibrate]))
        stages.append(Stage(name: "quantize", passes: [quantizeInt8] + (options.biasCorrection ? [correctInt8Biases] : [])))
        name.append("int8")
    }
    stages.append(Stage(name: "post", passes: [dedupConstants, deadCodeElimination]))
    return Pipeline(name: name.joined(separator: "+"), stages: stages)
}

/// Recovery needs data: without calibration samples pruning stays as magnitude left it.
private func recoveryPasses(_ recovery: PruningRecovery, _ options: PipelineOptions) -> [Pass] {
    guard options.calibration != nil else { return [] }
    switch recovery {
    case .none: return []
    case .batchnorm: return [reestimateBatchNorm]
    case .refit: return [refitPruned]
    }
}

extension PipelineOptions {
    /// Options written as `key=value` words, the form golden pass cases carry in a
    /// `# options:` line and `h5tolite opt --options` takes:
    /// `prune=0.5 prune-scope=global prune-ends prune-recovery=batchnorm prune-channels=0.3 quantize=int8
    /// calibration=normal:16 calibration-method=mse keep-float=a,b io=int8 bias-correction`. `calibration=normal:N`
    /// stands for N seeded standard-normal samples of each of the graph's inputs.
    public init(words: String, graph: Graph) throws {
        var settings: [String: String] = [:]
        for word in words.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            settings[parts[0]] = parts.count > 1 ? parts[1] : "true"
        }
        func parsed<T>(_ key: String, _ make: (String) -> T?) throws -> T? {
            guard let text = settings.removeValue(forKey: key) else { return nil }
            guard let value = make(text) else { throw H5ToLiteError("options: '\(key)=\(text)' is not valid") }
            return value
        }
        let sparsity = try parsed("prune") { Double($0) }
        let scope = try parsed("prune-scope") { PruningScope(rawValue: $0) } ?? .layer
        let ends = try parsed("prune-ends") { $0 == "true" ? true : nil } ?? false
        let recovery = try parsed("prune-recovery") { PruningRecovery(rawValue: $0) } ?? .refit
        self.init(pruning: sparsity.map { PruningOptions(sparsity: $0, scope: scope, includeEnds: ends, recovery: recovery) },
                  quantization: try parsed("quantize") { QuantizationMode(rawValue: $0) } ?? .none,
                  calibration: try parsed("calibration") { spec in Self.seededSamples(spec, graph) },
                  keepFloat: Set((try parsed("keep-float") { $0 } ?? "").split(separator: ",").map(String.init)),
                  io: try parsed("io") { ["float32": DType.float32, "int8": .int8, "uint8": .uint8][$0] } ?? .float32)
        channelPruning = try parsed("prune-channels") { Double($0) }.map { ChannelPruningOptions(fraction: $0, recovery: recovery) }
        biasCorrection = try parsed("bias-correction") { $0 == "true" ? true : nil } ?? false
        calibrationMethod = try parsed("calibration-method") { CalibrationMethod(rawValue: $0) } ?? .minmax
        if let unknown = settings.keys.sorted().first {
            throw H5ToLiteError("options: unknown option '\(unknown)'")
        }
    }

    private static func seededSamples(_ spec: String, _ graph: Graph) -> [Tensor]? {
        guard spec.hasPrefix("normal:"), let count = Int(spec.dropFirst("normal:".count)), count > 0, !graph.inputs.isEmpty
        else { return nil }
        return seededNormalInputs(shapes: graph.sampleShapes, count: count)
    }
}
