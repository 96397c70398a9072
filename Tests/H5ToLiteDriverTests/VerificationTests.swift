import Testing
import H5ToLiteEvaluation
import H5ToLiteInterpreter
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
@testable import H5ToLiteDriver

@Suite struct VerificationTests {
    @Test func defaultTolerancesHoldFloatModesOnly() {
        #expect(defaultTolerance(PipelineOptions()) == 1e-4)
        #expect(defaultTolerance(PipelineOptions(quantization: .float16)) == 1e-2)
        #expect(defaultTolerance(PipelineOptions(quantization: .dynamic)) == nil)
        #expect(defaultTolerance(PipelineOptions(quantization: .int8)) == nil)
        #expect(defaultTolerance(PipelineOptions(pruning: PruningOptions(sparsity: 0.5))) == nil)
    }

    /// The refit wins back most of what pruning lost: the report shows both.
    @Test func prunedVerificationReportsWhatTheRecoveryWonBack() throws {
        let samples = try goldenArray("mini_densenet", "calibration.npy")
        let request = ConversionRequest(options: PipelineOptions(pruning: PruningOptions(sparsity: 0.5)),
                                        calibration: SampleFile(paths: [goldenPath("models/mini_densenet/calibration.npy")]))
        let result = try convert(try goldenModel("mini_densenet"), file: "mini_densenet", request: request)
        let report = try verifyConversion(original: result.imported, optimized: result.optimized, written: try #require(result.bytes),
                                          options: result.options, samples: [samples])
        let unrecovered = try #require(report.withoutRecovery?.first)
        #expect(report.conversion.count == 1)
        #expect(report.conversion[0].comparison.meanAbsoluteError < unrecovered.comparison.meanAbsoluteError)
        #expect(report.layers == nil)
    }

    /// The per-layer table's row for the model's output is the output comparison itself.
    @Test func layerErrorOfTheOutputIsTheOutputsError() throws {
        let samples = try goldenArray("mini_densenet", "input.npy")
        let options = PipelineOptions(quantization: .int8, calibration: [try goldenArray("mini_densenet", "calibration.npy")])
        let imported = try importedGraph("mini_densenet")
        let quantized = try runPipeline(imported, context: PassContext(options: options))
        let float = try floatReference(imported, options: options)
        let errors = try layerErrors(float: float, quantized: quantized, samples: [samples])
        let outputName = float[float.outputs[0]].name
        let row = try #require(errors.first { $0.name == outputName })
        let expected = try Interpreter(graph: float).run([samples])[0].data
        let actual = try Interpreter(graph: quantized).run([samples])[0].data
        let comparison = OutputComparison(reference: expected, candidate: actual, samples: 2)
        #expect(abs(row.maxAbsoluteError - comparison.maxAbsoluteError) < 1e-7)
        #expect(abs(row.meanAbsoluteError - comparison.meanAbsoluteError) < 1e-7)
        #expect(zip(errors, errors.dropFirst()).allSatisfy { $0.rmseInSteps >= $1.rmseInSteps || $1.rmseInSteps.isNaN })
        #expect(try layerErrors(float: float, quantized: float, samples: [samples]).allSatisfy { $0.maxAbsoluteError == 0 })
    }
}

func importedGraph(_ model: String) throws -> Graph {
    try importKeras(try goldenModel(model))
}
