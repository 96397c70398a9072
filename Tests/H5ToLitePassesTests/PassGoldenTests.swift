import Foundation
import Testing
import H5ToLiteIR
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

/// The words of a case's `# NAME:` line (`# options: prune=0.5 ...`, `# first: prune-weights`).
func caseLine(_ name: String, in text: String) -> String {
    let prefix = "# \(name):"
    return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } ?? ""
}

@Suite struct PassGoldenTests {
    /// Input IR -> one pass -> expected IR, as text. A `# first: PASS,...` line names passes
    /// that run before it in the same pipeline (the refit reads the graph prune-weights started from).
    @Test(arguments: goldenPassCases())
    func passMatchesGolden(path: String) throws {
        let passName = String(path.split(separator: "/")[0])
        let found = passRegistry.first { $0.name == passName }
        let selected = try #require(found, "no pass named \(passName)")
        let input = passGolden.appendingPathComponent(path)
        let expectedURL = input.deletingPathExtension().appendingPathExtension("expected.ir")
        let text = try String(contentsOf: input, encoding: .utf8)
        let parsed = try parseGraph(text)
        try verify(parsed)
        let first = try caseLine("first", in: text).split(separator: ",").map { name in
            try #require(pass(named: name.trimmingCharacters(in: .whitespaces)), "no pass named \(name)")
        }
        let context = PassContext(options: try PipelineOptions(words: caseLine("options", in: text), graph: parsed))
        let graph = try runPipeline(parsed, passes: first + [selected], context: context)
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
    @Test(arguments: ["mini_densenet", "chexnet_nested", "layers_activation", "layers_shape", "layers_merge", "layers_conv",
                      "layers_conv3d", "mini_ct3d"])
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
