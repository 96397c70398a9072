import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR
import H5ToLitePasses
@testable import H5ToLiteDriver

/// The trained CheXNet-shaped model on its labelled PNG images: the figures scikit-learn
/// computed on Keras's outputs (golden/models/chexnet_trained/info.json).
@Suite struct EvaluationTests {
    static let data = goldenPath("data/chexnet")

    func labelled(_ set: String) throws -> LabelledData {
        try LabelledData.load(data: SampleFile(paths: ["\(Self.data)/\(set)"], preprocessing: .torch), labels: "\(Self.data)/\(set)_labels.csv",
                              metric: .auto, model: try importedGraph("chexnet_trained"))
    }

    @Test func meanAUROCIsKerasOwn() throws {
        let data = try labelled("test")
        #expect(data.metric == .auroc)
        let result = try evaluate(try importedGraph("chexnet_trained"), name: "keras", on: data)
        #expect(abs(result.metric - (try recorded("chexnet_trained", "metrics", "keras3", "test", "mean"))) < 1e-4)
        #expect(result.perClassAUROC.count == 14)
    }

    /// --max-drop on the noisy set keeps one layer in float, as the README reports, and the
    /// drop it ends with is within the allowance.
    @Test func accuracySearchKeepsTheLayerThatRecoversTheDrop() throws {
        let data = try labelled("test_noisy")
        let calibration = try loadSamples(SampleFile(paths: ["\(Self.data)/calibration"], preprocessing: .torch),
                                          for: [ModelInput(name: "input", shape: [64, 64, 3])], label: "calibration")
        let imported = try importedGraph("chexnet_trained")
        var lines: [String] = []
        let kept = try searchKeepFloat(imported: imported, options: PipelineOptions(quantization: .int8, calibration: calibration),
                                       maxDrop: 0.002, data: data, log: { lines.append($0) })
        #expect(kept == ["conv2_block1_concat"])
        #expect(lines.contains { $0.hasPrefix("max-drop: cost of the float32 layers:") })
        var options = PipelineOptions(quantization: .int8, calibration: calibration)
        options.keepFloat = kept
        let float = try evaluate(imported, name: "float", on: data).metric
        let int8 = try evaluate(try runPipeline(imported, context: PassContext(options: options)), name: "int8", on: data).metric
        #expect(float - int8 <= 0.002)
    }

    @Test func labelRowsMustMatchTheSamples() throws {
        #expect(throws: H5ToLiteError.self) {
            _ = try LabelledData.load(data: SampleFile(paths: ["\(Self.data)/test"], preprocessing: .torch),
                                      labels: goldenPath("models/mini_densenet/input.npy"), metric: .auto,
                                      model: try importedGraph("chexnet_trained"))
        }
    }
}

@Suite struct SampleTests {
    static let image = ModelInput(name: "input", shape: [32, 32, 3])

    @Test func arraysMustHaveTheModelsSampleShape() throws {
        let path = goldenPath("models/mini_densenet/input.npy")
        #expect(try loadSamples(SampleFile(paths: [path], limit: 1), for: [Self.image], label: "x").map(\.shape) == [[1, 32, 32, 3]])
        do {
            _ = try loadSamples(SampleFile(paths: [path]), for: [ModelInput(name: "input", shape: [16, 16, 3])], label: "x")
            Issue.record("a wrong shape was accepted")
        } catch {
            #expect("\(error)".hasPrefix("\(path): samples shaped [2, 32, 32, 3], input 'input' takes [N, 16, 16, 3]"))
        }
    }

    @Test func imageFoldersNeedAPreprocessing() {
        #expect(throws: H5ToLiteError.self) {
            try loadSamples(SampleFile(paths: [goldenPath("data/chexnet/test")]), for: [ModelInput(name: "input", shape: [64, 64, 3])],
                            label: "x")
        }
    }

    @Test func batchesCoverEverySampleOfEveryInputInOrder() {
        let samples = [Tensor(shape: [5, 2], data: (0..<10).map(Float.init)), Tensor(shape: [5], data: (10..<15).map(Float.init))]
        let parts = batches(samples, size: 2)
        #expect(parts.map { $0.map(\.shape) } == [[[2, 2], [2]], [[2, 2], [2]], [[1, 2], [1]]])
        #expect(parts.flatMap { $0[0].data } == samples[0].data)
        #expect(parts.flatMap { $0[1].data } == samples[1].data)
        #expect(firstSamples(samples, count: 3).map(\.shape) == [[3, 2], [3]])
        #expect(firstSamples(samples, count: 9).map(\.shape) == [[5, 2], [5]])
    }
}

@Suite struct ComparisonTests {
    @Test func comparisonWritesEveryVariantAndTheReports() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-compare-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = try LabelledData.load(data: SampleFile(paths: [goldenPath("data/chexnet/test")], preprocessing: .torch),
                                         labels: goldenPath("data/chexnet/test_labels.csv"), metric: .auroc,
                                         model: try importedGraph("chexnet_trained"))
        let report = try compareVariants(model: "chexnet_trained", imported: try importedGraph("chexnet_trained"), originalSize: 1,
                                         variants: [try Variant("float16")], data: data, calibration: firstSamples(data.samples, count: 8),
                                         folder: folder)
        #expect(report.rows.map(\.name) == ["original (Keras)", "float16"])
        #expect(abs(report.rows[1].change) < 1e-3)
        #expect(report.markdown.hasPrefix("| variant |"))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(Set(files).isSuperset(of: ["float16.tflite", "results.md", "results.json", "chart.svg"]))
    }
}
