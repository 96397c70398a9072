import ArgumentParser
import Foundation
import H5ToLiteCore
import H5ToLiteDriver
import H5ToLiteIR
import H5ToLiteTFLite

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a .h5, .keras or .tflite file: layers or ops, tensors, parameters, sizes.")

    @Argument(help: "The file to describe.")
    var file: String

    @Flag(help: "Also print the whole graph as text IR.")
    var graph = false

    @Flag(help: "Print one JSON object instead: the file's header, inputs, outputs and every op with its tensors.")
    var json = false

    func run() throws {
        let read = try ModelFile(path: file, readKeras: { try loadKerasFileIsolated($0) })
        if !json {
            if let summary = read.summary {
                printSummary(summary)
                read.metadata.map(printMetadata)
            } else {
                print("\(file): \(read.header.format), Keras \(read.header.kerasVersion ?? "unknown"), model '\(read.header.model ?? "")'")
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let description = FileDescription(file: file, header: read.header, graph: read.graph, includeText: graph)
            print(String(decoding: try encoder.encode(description), as: UTF8.self))
            return
        }
        printGraphSummary(read.graph)
        if graph { print(printGraph(read.graph), terminator: "") }
    }

    private func printSummary(_ summary: TFLiteSummary) {
        print("\(file): TFLite schema \(summary.schemaVersion), \(summary.fileBytes) bytes "
              + "(\(summary.bufferBytes) in buffers), description \"\(summary.description)\"")
        print("  min_runtime_version \(summary.minimumRuntime ?? "(none)"), signatures: \(summary.signatures.joined(separator: ", "))")
        for code in summary.operatorCodes {
            print("  op \(code.name) v\(code.version): \(code.uses) use(s)")
        }
        for tensor in summary.sparseTensors {
            print("  sparse \(tensor.name): \(tensor.type)\(tensor.shape), \(tensor.storedValues) of \(tensor.elements) values stored "
                  + "(density \(String(format: "%.3f", tensor.density))), \(tensor.layout.summary)")
        }
    }

    private func printMetadata(_ packed: PackedMetadata) {
        let metadata = packed.metadata
        print("  metadata '\(metadata.name)'" + (metadata.version.map { " version \($0)" } ?? "")
              + (metadata.minParserVersion.map { ", min_parser_version \($0)" } ?? "") + (metadata.description.map { ": \($0)" } ?? ""))
        if metadata.author != nil || metadata.license != nil {
            print("    author: \(metadata.author ?? "(none)"), license: \(metadata.license ?? "(none)")")
        }
        for (kind, tensors) in [("input", metadata.inputs), ("output", metadata.outputs)] {
            for tensor in tensors { print("    \(kind) '\(tensor.name)': " + tensorMetadataText(tensor)) }
        }
        for file in packed.files {
            print("  associated file \(file.name): \(file.contents.count) bytes")
        }
    }

    private func tensorMetadataText(_ tensor: TensorMetadata) -> String {
        var parts = [contentText(tensor.content)]
        if let normalization = tensor.normalization { parts.append("normalization mean \(normalization.mean) std \(normalization.std)") }
        if let range = tensor.range { parts.append("range \(range.min)...\(range.max)") }
        parts += tensor.associatedFiles.map { "\($0.type) \($0.name)" }
        if tensor.otherProcessUnits > 0 { parts.append("\(tensor.otherProcessUnits) other process unit(s)") }
        return parts.joined(separator: ", ")
    }

    private func printGraphSummary(_ graph: Graph) {
        for id in graph.inputs {
            print("  input  \(graph[id].name): \(graph[id].dtype.shortName)\(graph[id].shape)")
        }
        for id in graph.outputs {
            print("  output \(graph[id].name): \(graph[id].dtype.shortName)\(graph[id].shape)")
        }
        var counts: [String: Int] = [:]
        for op in graph.ops { counts[op.kind.name, default: 0] += 1 }
        let kinds = counts.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
        print("  \(graph.ops.count) ops (\(kinds)), \(graph.values.count) tensors, \(graph.parameterCount) parameters")
    }
}

