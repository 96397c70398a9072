import H5ToLiteCore
import H5ToLitePasses

/// One column of a comparison, as `compare --variants` spells it: a quantization mode,
/// optionally after pruning, joined by `+`: `float32`, `float16`, `dynamic`, `int8`,
/// `prune:S` (refit on the calibration data), `prune:S:batchnorm`, `prune:S:raw`,
/// `channels:F` (channel pruning removing a fraction F of multiply-adds, recovered likewise;
/// `channels:F:batchnorm`, `channels:F:raw`),
/// `int8:minmax`, `int8:mse` (int8 with that `--calibration-method`), `bias-correction`, `int8-head` (the final sigmoid or softmax in int8, as TensorFlow writes it).
public struct Variant: Equatable {
    public var quantization: QuantizationMode = .none
    public var prune: Double?
    public var channels: Double?
    public var recovery = PruningRecovery.refit
    public var biasCorrection = false
    public var integerHead = false
    public var calibrationMethod = CalibrationMethod.minmax
    public let spec: String

    public init(_ spec: String) throws {
        self.spec = spec
        for part in spec.split(separator: "+") {
            if let (sparsity, recovery) = Self.pruning(part, "prune") {
                prune = sparsity
                self.recovery = recovery
            } else if let (fraction, recovery) = Self.pruning(part, "channels") {
                channels = fraction
                self.recovery = recovery
            } else if part == "float32" {
                quantization = .none
            } else if part == "bias-correction" {
                biasCorrection = true
            } else if part.hasPrefix("int8:"), let method = CalibrationMethod(rawValue: String(part.dropFirst("int8:".count))) {
                quantization = .int8
                calibrationMethod = method
            } else if part == "int8-head" {
                integerHead = true
            } else if let mode = QuantizationMode(rawValue: String(part)), mode != .none {
                quantization = mode
            } else {
                throw H5ToLiteError("--variants: '\(spec)' is not float32, float16, dynamic, int8, int8:minmax|mse, prune:S[:batchnorm|:raw], "
                                   + "channels:F[:batchnorm|:raw], bias-correction, int8-head or a '+' of them")
            }
        }
    }

    /// `NAME:S`, `NAME:S:batchnorm` or `NAME:S:raw` with S in [0, 1).
    private static func pruning(_ part: Substring, _ name: String) -> (Double, PruningRecovery)? {
        let fields = part.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(fields.count), fields[0] == name, let sparsity = Double(fields[1]), (0..<1).contains(sparsity)
        else { return nil }
        switch fields.count == 3 ? fields[2] : nil {
        case nil: return (sparsity, .refit)
        case "raw"?: return (sparsity, .none)
        case "batchnorm"?: return (sparsity, .batchnorm)
        default: return nil
        }
    }

    /// The variant's .tflite file name, without the extension.
    public var fileName: String {
        spec.replacingOccurrences(of: ":", with: "-").replacingOccurrences(of: "+", with: "_")
    }

    /// The pipeline options of this variant; `calibration` is used only where it is needed.
    public func options(calibration: [Tensor]) -> PipelineOptions {
        var options = PipelineOptions(pruning: prune.map { PruningOptions(sparsity: $0, recovery: recovery) },
                                      quantization: quantization,
                                      calibration: quantization == .int8 || prune != nil || channels != nil ? calibration : nil)
        options.channelPruning = channels.map { ChannelPruningOptions(fraction: $0, recovery: recovery) }
        options.biasCorrection = biasCorrection
        options.floatHead = !integerHead
        options.calibrationMethod = calibrationMethod
        return options
    }
}
