import ArgumentParser
import Foundation
import H5ToLiteIR
import H5ToLiteKeras
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
        let described: Graph
        var header = FileHeader()
        if file.hasSuffix(".tflite") {
            let bytes: [UInt8]
            do {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw CommandError("\(file): cannot read (\(error.localizedDescription))")
            }
            do {
                let summary = try summarizeTFLite(bytes: bytes)
                described = try readTFLite(bytes: bytes, name: file)
                header = FileHeader(summary)
                if !json { printSummary(summary) }
            } catch {
                throw CommandError("\(file): \(error)")
            }
        } else {
            let keras = try loadKerasFileIsolated(file)
            described = try importKeras(keras)
            header = FileHeader(format: keras.format.rawValue, kerasVersion: keras.kerasVersion, model: keras.name)
            if !json { print("\(file): \(keras.format.rawValue), Keras \(keras.kerasVersion), model '\(keras.name)'") }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let description = FileDescription(file: file, header: header, graph: described, includeText: graph)
            print(String(decoding: try encoder.encode(description), as: UTF8.self))
            return
        }
        printGraphSummary(described)
        if graph { print(printGraph(described), terminator: "") }
    }

    private func printSummary(_ summary: TFLiteSummary) {
        print("\(file): TFLite schema \(summary.schemaVersion), \(summary.fileBytes) bytes "
              + "(\(summary.bufferBytes) in buffers), description \"\(summary.description)\"")
        print("  min_runtime_version \(summary.minimumRuntime ?? "(none)"), signatures: \(summary.signatures.joined(separator: ", "))")
        for code in summary.operatorCodes {
            print("  op \(code.name) v\(code.version): \(code.uses) use(s)")
        }
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

/// What `inspect --json` prints. Keras files fill the Keras fields, .tflite files the others.
struct FileHeader: Encodable {
    var format: String = "TFLite"
    var kerasVersion: String?
    var model: String?
    var schemaVersion: UInt32?
    var bytes: Int?
    var bufferBytes: Int?
    var description: String?
    var minRuntimeVersion: String?
    var signatures: [String]?
    var operatorCodes: [OperatorCode]?

    struct OperatorCode: Encodable {
        var name: String
        var version: Int32
        var uses: Int
    }

    init(format: String = "TFLite", kerasVersion: String? = nil, model: String? = nil) {
        self.format = format
        self.kerasVersion = kerasVersion
        self.model = model
    }

    init(_ summary: TFLiteSummary) {
        schemaVersion = summary.schemaVersion
        bytes = summary.fileBytes
        bufferBytes = summary.bufferBytes
        description = summary.description
        minRuntimeVersion = summary.minimumRuntime
        signatures = summary.signatures
        operatorCodes = summary.operatorCodes.map { OperatorCode(name: $0.name, version: $0.version, uses: $0.uses) }
    }
}

struct FileDescription: Encodable {
    var file: String
    var header: FileHeader
    var inputs: [Tensor]
    var outputs: [Tensor]
    var parameters: Int
    var ops: [Operation]
    /// The graph as text IR, with --graph.
    var ir: String?

    struct Tensor: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var constant: Bool
        var scales: [Float]?
        var zeroPoints: [Int]?
    }

    struct Operation: Encodable {
        var kind: String
        var layer: String
        var inputs: [Tensor]
        var outputs: [Tensor]
    }

    init(file: String, header: FileHeader, graph: Graph, includeText: Bool) {
        func tensor(_ id: ValueID) -> Tensor {
            let value = graph[id]
            return Tensor(name: value.name, dtype: value.dtype.shortName, shape: value.shape, constant: value.constant != nil,
                          scales: value.quantization?.scales, zeroPoints: value.quantization?.zeroPoints)
        }
        self.file = file
        self.header = header
        inputs = graph.inputs.map(tensor)
        outputs = graph.outputs.map(tensor)
        parameters = graph.parameterCount
        ops = graph.ops.map { Operation(kind: $0.kind.name, layer: $0.origin, inputs: $0.inputs.map(tensor),
                                        outputs: $0.outputs.map(tensor)) }
        ir = includeText ? printGraph(graph) : nil
    }
}
