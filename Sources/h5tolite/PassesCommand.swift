import ArgumentParser
import H5ToLiteCore
import H5ToLitePasses

struct Passes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the optimization passes and the pipeline each mode runs.")

    func run() {
        let width = passRegistry.map(\.name.count).max() ?? 0
        print("passes:")
        for pass in passRegistry {
            print("  " + pass.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + pass.summary)
        }
        print("\npipelines (--quantize MODE; --prune and --prune-channels add their stage, the recovery only with --calibration):")
        for (flags, options) in examplePipelines {
            let pipeline = pipeline(for: options)
            print("  \(pipeline.name) (\(flags)):")
            for stage in pipeline.stages {
                print("    \(stage.name): \(stage.passes.map(\.name).joined(separator: ", "))")
            }
        }
    }

    /// One pipeline per mode, then pruning with each recovery, channel pruning, then int8 with bias correction.
    private var examplePipelines: [(String, PipelineOptions)] {
        let samples = [Tensor(shape: [1], data: [0])]
        var modes = QuantizationMode.allCases.map { ("--quantize \($0.rawValue)", PipelineOptions(quantization: $0, calibration: samples)) }
        for recovery in [PruningRecovery.refit, .batchnorm] {
            modes.append(("--prune S --calibration X --prune-recovery \(recovery.rawValue)",
                          PipelineOptions(pruning: PruningOptions(sparsity: 0.5, recovery: recovery), calibration: samples)))
        }
        var channels = PipelineOptions(calibration: samples)
        channels.channelPruning = ChannelPruningOptions(fraction: 0.3)
        modes.append(("--prune-channels F --calibration X", channels))
        var corrected = PipelineOptions(quantization: .int8, calibration: samples)
        corrected.biasCorrection = true
        modes.append(("--quantize int8 --bias-correction", corrected))
        return modes
    }
}
