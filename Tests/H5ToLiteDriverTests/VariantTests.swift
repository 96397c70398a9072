import Testing
import H5ToLiteCore
@testable import H5ToLiteDriver
import H5ToLitePasses

@Suite struct VariantTests {
    @Test func variantsParseIntoPipelineOptions() throws {
        let combined = try Variant("prune:0.7:batchnorm+int8")
        #expect(combined.prune == 0.7)
        #expect(combined.recovery == .batchnorm)
        #expect(combined.quantization == .int8)
        #expect(combined.fileName == "prune-0.7-batchnorm_int8")
        #expect(try Variant("prune:0.5").recovery == .refit)
        #expect(try Variant("prune:0.5:raw").recovery == PruningRecovery.none)
        #expect(try Variant("int8+bias-correction").biasCorrection)
        #expect(try Variant("int8+int8-head").integerHead)
        #expect(try Variant("float32").quantization == QuantizationMode.none)
        let clipped = try Variant("int8:mse")
        #expect(clipped.quantization == .int8 && clipped.options(calibration: []).calibrationMethod == .mse)
        #expect(try Variant("int8:minmax").calibrationMethod == .minmax)
    }

    @Test(arguments: ["prune:1.0", "prune:0.5:", "prune:x", "int4", "prune:0.5:refit:x", "int8:median"])
    func malformedVariantsAreRefused(spec: String) {
        #expect(throws: H5ToLiteError.self) { try Variant(spec) }
    }
}
