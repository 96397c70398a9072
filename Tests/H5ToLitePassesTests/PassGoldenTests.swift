import Foundation
import Testing
import H5ToLiteIR
import H5ToLiteInterpreter
import H5ToLiteKeras
@testable import H5ToLitePasses

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
let passGolden = repository.appendingPathComponent("golden/passes")

/// Set H5TOLITE_UPDATE_GOLDEN=1 to rewrite the expected files; then read the diff.
let updateGolden = ProcessInfo.processInfo.environment["H5TOLITE_UPDATE_GOLDEN"] == "1"

/// Every `golden/passes/<pass>/<case>.ir` with its pass name.
func goldenPassCases() -> [String] {
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: passGolden.path)) ?? []
    return folders.sorted().flatMap { folder in
        ((try? FileManager.default.contentsOfDirectory(atPath: passGolden.appendingPathComponent(folder).path)) ?? [])
            .filter { $0.hasSuffix(".ir") && !$0.hasSuffix(".expected.ir") }
            .sorted()
            .map { "\(folder)/\($0)" }
    }
}

/// Options a case asks for in a `# options: prune=0.5 prune-scope=global prune-ends prune-recovery=batchnorm quantize=int8 ...` line.
func options(from text: String) -> PipelineOptions {
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("# options:") }) else { return PipelineOptions() }
    var settings: [String: String] = [:]
    for word in line.dropFirst("# options:".count).split(separator: " ") {
        let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
        settings[parts[0]] = parts.count > 1 ? parts[1] : "true"
    }
    let pruning = settings["prune"].flatMap(Double.init).map { sparsity in
        PruningOptions(sparsity: sparsity, scope: PruningScope(rawValue: settings["prune-scope"] ?? "layer") ?? .layer,
                       includeEnds: settings["prune-ends"] != nil,
                       recovery: PruningRecovery(rawValue: settings["prune-recovery"] ?? "refit") ?? .refit)
    }
    // calibration=normal:N stands for N seeded standard-normal samples of the graph's input.
    let calibration = settings["calibration"].flatMap { spec -> Tensor? in
        guard let count = Int(spec.replacingOccurrences(of: "normal:", with: "")),
              let graph = try? parseGraph(text), let input = graph.inputs.first else { return nil }
        return seededNormalSamples(shape: Array(graph[input].shape.dropFirst()), count: count)
    }
    let io: DType = settings["io"] == "int8" ? .int8 : settings["io"] == "uint8" ? .uint8 : .float32
    return PipelineOptions(pruning: pruning, quantization: QuantizationMode(rawValue: settings["quantize"] ?? "none") ?? .none,
                           calibration: calibration, keepFloat: Set((settings["keep-float"] ?? "").split(separator: ",").map(String.init)),
                           io: io)
}

@Suite struct PassGoldenTests {
    /// Input IR -> one pass -> expected IR, as text.
    @Test(arguments: goldenPassCases())
    func passMatchesGolden(path: String) throws {
        let passName = String(path.split(separator: "/")[0])
        let found = passRegistry.first { $0.name == passName }
        let selected = try #require(found, "no pass named \(passName)")
        let input = passGolden.appendingPathComponent(path)
        let expectedURL = input.deletingPathExtension().appendingPathExtension("expected.ir")
        let text = try String(contentsOf: input, encoding: .utf8)
        var graph = try parseGraph(text)
        try verify(graph)
        try selected.run(&graph, PassContext(options: options(from: text)))
        try verify(graph)
        let actual = printGraph(graph, fullConstants: true)
        if updateGolden {
            try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(actual == expected)
    }

    @Test func everyPassHasAGoldenCase() {
        let covered = Set(goldenPassCases().map { String($0.split(separator: "/")[0]) })
        for pass in passRegistry {
            #expect(covered.contains(pass.name), "pass \(pass.name) has no golden/passes case")
        }
    }

    @Test func passNamesAreKebabCaseAndUnique() {
        let names = passRegistry.map(\.name)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }, "\(name)")
        }
    }
}

@Suite struct TextRoundTripTests {
    @Test(arguments: ["mini_densenet", "chexnet_nested", "layers_activation", "layers_shape", "layers_merge", "layers_conv"])
    func importedGraphsRoundTrip(model: String) throws {
        let path = repository.appendingPathComponent("golden/models/\(model)/keras3.h5").path
        let graph = try runPipeline(try importKeras(try loadKerasModel(path: path)))
        let text = printGraph(graph, fullConstants: true)
        let parsed = try parseGraph(text)
        try verify(parsed)
        #expect(printGraph(parsed, fullConstants: true) == text)
        #expect(parsed.values.compactMap(\.constant) == graph.values.compactMap(\.constant))
    }
}
