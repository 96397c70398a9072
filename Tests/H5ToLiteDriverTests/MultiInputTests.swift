import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLitePasses
import H5ToLiteTFLite
@testable import H5ToLiteDriver

/// golden/models/multi_io (inputs image 32x32x1 and clinical 4; outputs findings 14, box 4 and
/// heatmap 8x8x1): samples, calibration, verification, per-layer errors and evaluation take
/// one array per input and cover every output.
@Suite struct MultiInputTests {
    static let outputs = ["findings", "box", "heatmap"]

    func file(_ name: String) -> String {
        goldenPath("models/multi_io/\(name)")
    }

    func kerasInputs() throws -> [Tensor] {
        [try goldenArray("multi_io", "input_image.npy"), try goldenArray("multi_io", "input_clinical.npy")]
    }

    func kerasOutputs() throws -> [Tensor] {
        try Self.outputs.map { try goldenArray("multi_io", "output_keras3_\($0).npy") }
    }

    @Test func samplesComeOnePerInputInTheModelsOrder() throws {
        let inputs = try importedGraph("multi_io").modelInputs
        #expect(inputs == [ModelInput(name: "image", shape: [32, 32, 1]), ModelInput(name: "clinical", shape: [4])])
        let samples = try loadSamples(SampleFile(list: "\(file("calibration_image.npy")),\(file("calibration_clinical.npy"))", limit: 5),
                                      for: inputs, label: "x")
        #expect(samples.map(\.shape) == [[5, 32, 32, 1], [5, 4]])
        #expect(samples[1].data == Array(try goldenArray("multi_io", "calibration_clinical.npy").data.prefix(20)))
    }

    /// Every refusal is one line naming the file at fault and the input it was meant for.
    @Test func badSampleListsNameTheFileAndTheInput() throws {
        let inputs = try importedGraph("multi_io").modelInputs
        func message(_ paths: [String]) -> String {
            do {
                _ = try loadSamples(SampleFile(paths: paths, preprocessing: .torch), for: inputs, label: "x")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        let (image, clinical) = (file("calibration_image.npy"), file("calibration_clinical.npy"))
        #expect(message([image]) == "\(image): the model takes 2 inputs ('image', 'clinical'): one array per input, "
                + "comma-separated in that order; got 1")
        #expect(message([clinical, image]) == "\(clinical): samples shaped [32, 4], input 'image' takes [N, 32, 32, 1]")
        #expect(message([file("input_image.npy"), clinical]) == "\(clinical): 32 samples for input 'clinical', but "
                + "\(file("input_image.npy")) holds 2 for input 'image'; every input needs the same samples")
        let folder = goldenPath("data/chexnet/test")
        #expect(message([folder, clinical]).hasPrefix("\(folder): a folder of images feeds a model with one image input; "
                                                      + "this model takes 2 inputs ('image', 'clinical')"))
        #expect(!message([image, clinical]).contains("\n") && message([image, clinical]) == "accepted")
    }

    /// Calibration runs both inputs; the int8 file, run on Keras's inputs, is as close to
    /// Keras's outputs as TensorFlow's int8 file of the same model, output by output.
    @Test func int8CalibrationTakesEveryInput() throws {
        let request = ConversionRequest(options: PipelineOptions(quantization: .int8),
                                        calibration: SampleFile(paths: [file("calibration_image.npy"), file("calibration_clinical.npy")]))
        let result = try convert(try goldenModel("multi_io"), file: "multi_io", request: request)
        #expect(result.report.contains { $0.hasPrefix("calibrate: 32 samples") })
        let written = try readTFLite(bytes: try #require(result.bytes), name: "written")
        let outputs = try Interpreter(graph: written).run(try kerasInputs())
        for (name, (actual, expected)) in zip(Self.outputs, zip(outputs, try kerasOutputs())) {
            let theirs = try recorded("multi_io", "max_abs_diff_tf_int8_\(name)_vs_keras3")
            // Both files' worst box value lands on the same int8 step: equal up to float rounding.
            #expect(largestDifference(actual.data, expected.data) <= theirs * (1 + 1e-4), "\(name)")
        }
    }

    /// --verify compares every output, named; the file matches the graph as imported, and
    /// seeded samples cover each input.
    @Test func verificationComparesEveryOutput() throws {
        let result = try convert(try goldenModel("multi_io"), file: "multi_io", request: ConversionRequest(options: PipelineOptions()))
        let seeded = try verificationSamples(nil, model: result.imported, preprocessing: nil)
        #expect(seeded.map(\.shape) == [[8, 32, 32, 1], [8, 4]])
        #expect(seeded[0] == seededNormalSamples(shape: [32, 32, 1], count: 8))
        for samples in [seeded, try kerasInputs()] {
            let report = try verifyConversion(original: result.imported, optimized: result.optimized, written: try #require(result.bytes),
                                              options: result.options, samples: samples)
            #expect(report.conversion.map(\.output) == Self.outputs)
            #expect(report.conversion.allSatisfy { $0.comparison.maxAbsoluteError <= 1e-5 && $0.comparison.samples == samples.sampleCount })
            #expect(report.conversion.summaries.map { $0.prefix(while: { $0 != ":" }) } == ["output 'findings'", "output 'box'", "output 'heatmap'"])
            #expect(report.conversion.excess(over: 1e-5) == nil)
        }
        // The imported graph is Keras's model: its outputs are Keras's own.
        let outputs = try Interpreter(graph: result.imported).run(try kerasInputs())
        for (actual, expected) in zip(outputs, try kerasOutputs()) {
            #expect(largestDifference(actual.data, expected.data) <= 1e-5)
        }
    }

    /// The per-layer table measures the layers on the way to every output, the outputs included.
    @Test func layerErrorsCoverEveryOutput() throws {
        let calibration = [try goldenArray("multi_io", "calibration_image.npy"), try goldenArray("multi_io", "calibration_clinical.npy")]
        let options = PipelineOptions(quantization: .int8, calibration: calibration)
        let imported = try importedGraph("multi_io")
        let quantized = try runPipeline(imported, context: PassContext(options: options))
        let float = try floatReference(imported, options: options)
        let errors = try layerErrors(float: float, quantized: quantized, samples: try kerasInputs())
        let names = Set(errors.map(\.name))
        #expect(Set(float.outputs.map { float[$0].name }).isSubset(of: names))
        #expect(names.contains("clinical_dense") && names.contains("stem"))
        let expected = try Interpreter(graph: float).run(try kerasInputs())
        let actual = try Interpreter(graph: quantized).run(try kerasInputs())
        for (id, (reference, candidate)) in zip(float.outputs, zip(expected, actual)) {
            let row = try #require(errors.first { $0.name == float[id].name })
            #expect(abs(row.maxAbsoluteError - largestDifference(reference.data, candidate.data)) < 1e-7)
        }
    }

    /// Labels score the first output unless another is named; a mismatch names the output.
    /// Keras's own outputs as one-hot labels: the model as imported scores 1.0 on them.
    @Test func labelsScoreTheNamedOutput() throws {
        let model = try importedGraph("multi_io")
        let data = SampleFile(paths: [file("input_image.npy"), file("input_clinical.npy")])
        let box = try LabelledData.load(data: data, labels: file("output_keras3_box.npy"), metric: .accuracy, model: model, output: "box")
        #expect(box.output == 1 && box.samples.sampleCount == 2)
        #expect(try evaluate(model, name: "keras", on: box).metric == 1)
        let findings = try LabelledData.load(data: data, labels: file("output_keras3_findings.npy"), metric: .accuracy, model: model)
        let result = try evaluate(model, name: "keras", on: findings)
        #expect(result.metric == 1 && result.outputs.map(\.count) == [28, 8, 128] && result.outputErrors == nil)
        #expect(throws: H5ToLiteError.self) {
            try LabelledData.load(data: data, labels: file("output_keras3_box.npy"), metric: .accuracy, model: model)
        }
        do {
            _ = try LabelledData.load(data: data, labels: file("output_keras3_box.npy"), metric: .accuracy, model: model, output: "boxes")
            Issue.record("an unknown output was accepted")
        } catch {
            #expect("\(error)" == "\(file("output_keras3_box.npy")): the model has no output 'boxes' to score "
                    + "(its outputs: 'findings', 'box', 'heatmap')")
        }
    }

    /// compare: the labelled output's metric, and every output's error against the original.
    @Test func comparisonReportsEveryOutputsError() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-compare-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try importedGraph("multi_io")
        let data = try LabelledData.load(data: SampleFile(paths: [file("input_image.npy"), file("input_clinical.npy")]),
                                         labels: file("output_keras3_findings.npy"), metric: .accuracy, model: model)
        let calibration = [try goldenArray("multi_io", "calibration_image.npy"), try goldenArray("multi_io", "calibration_clinical.npy")]
        let report = try compareVariants(model: "multi_io", imported: model, originalSize: 1, variants: [try Variant("float32"), try Variant("int8")],
                                         data: data, calibration: calibration, folder: folder)
        #expect(report.outputs == Self.outputs && report.labelledOutput == "findings")
        #expect(report.rows[0].outputErrors == nil)
        #expect(try #require(report.rows[1].outputErrors).allSatisfy { $0 <= 1e-6 })
        #expect(try #require(report.rows[2].outputErrors).allSatisfy { $0 > 0 })
        #expect(report.rows[1].metric == 1)
        #expect(report.markdown.hasPrefix("| variant | size | gzip size | size vs original | accuracy of findings | change | top-1 agreement | "
                                          + "ms/image | multiply-adds | findings mean abs error | box mean abs error | heatmap mean abs error |"))
        #expect(try report.json().contains("\"outputErrors\""))
    }
}
