import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteInterpreter
import H5ToLiteIR
import H5ToLitePasses
import H5ToLiteTFLite
@testable import H5ToLiteDriver

@Suite struct MetadataPlanTests {
    /// With the torch scaling inside, the file reads 0..255 pixels and gives Keras's outputs for
    /// the images Keras saw preprocessed (golden input.npy: two test images, torch-preprocessed).
    @Test func normalizationInModelReadsPixelsAndMatchesKeras() throws {
        var metadata = MetadataRequest(preprocessing: .torch)
        metadata.normalizationInModel = true
        let result = try convert(try goldenModel("chexnet_trained"), file: "chexnet_trained",
                                 request: ConversionRequest(options: PipelineOptions(), metadata: metadata))
        let written = try readTFLite(bytes: try #require(result.bytes))
        let preprocessed = try goldenArray("chexnet_trained", "input.npy")
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let pixels = Tensor(shape: preprocessed.shape, data: preprocessed.data.enumerated().map { index, value in
            (value * std[index % 3] + mean[index % 3]) * 255
        })
        let outputs = try Interpreter(graph: written).run([pixels])
        #expect(largestDifference(outputs[0].data, try goldenArray("chexnet_trained", "output_keras3.npy").data) <= 1e-5)
        let input = try #require(result.metadata?.metadata.inputs.first)
        #expect(input.normalization == Normalization(mean: [0], std: [1]))
        #expect(input.range == StatsRange(min: [0], max: [255]))
        #expect(written[written.inputs[0]].name == "sequential_input")
    }

    /// An int8 model with uint8 input and output: the softmax is found behind the QUANTIZE,
    /// and the ranges are the uint8 ones TFLite Support's writers state.
    @Test func int8SoftmaxWithUInt8InputAndOutput() throws {
        let options = PipelineOptions(quantization: .int8, io: .uint8)
        let request = ConversionRequest(options: options, calibration: SampleFile(paths: [goldenPath("models/mini_inception/input.npy")]),
                                        metadata: MetadataRequest(classNames: (["no", "yes"], "names.txt"), preprocessing: .tf))
        let packed = try #require(try convert(try goldenModel("mini_inception"), file: "mini_inception", request: request).metadata)
        let output = try #require(packed.metadata.outputs.first)
        #expect(output.description?.contains("softmax") == true)
        #expect(output.range == StatsRange(min: [0], max: [255]))
        #expect(packed.metadata.inputs[0].range == StatsRange(min: [0], max: [255]))
        #expect(packed.metadata.inputs[0].normalization == Normalization(mean: [127.5], std: [127.5]))
        #expect(packed.labels(ofOutput: 0) == ["no", "yes"])
    }

    @Test func classNamesMustCountTheOutputs() throws {
        let request = ConversionRequest(options: PipelineOptions(),
                                        metadata: MetadataRequest(classNames: (["a", "b", "c"], "names.txt"), preprocessing: .tf))
        let error = try #require(throws: H5ToLiteError.self) {
            try convert(try goldenModel("mini_inception"), file: "mini_inception", request: request)
        }
        #expect(error.description == "names.txt: names 3 classes; output 'predictions' has 2 values")
    }
}
