import H5ToLiteCore
import Foundation
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLiteTFLite

/// A .h5, .keras or .tflite file as `inspect` describes it.
public struct ModelFile {
    public let graph: Graph
    public let header: FileHeader
    /// For .tflite files: operator codes, versions, metadata.
    public let summary: TFLiteSummary?
    /// For .tflite files with TFLite metadata: it, and the files packed after the model.
    public let metadata: PackedMetadata?

    /// Reads `path` by its extension: .tflite with the bounds-checked reader, anything else
    /// as a Keras file with `readKeras` (in the tool, a child process: `loadKerasFileIsolated`).
    public init(path: String, readKeras: (String) throws -> KerasModel) throws {
        guard path.hasSuffix(".tflite") else {
            let keras = try readKeras(path)
            graph = try importKeras(keras)
            header = FileHeader(format: keras.format.rawValue, kerasVersion: keras.kerasVersion, model: keras.name)
            summary = nil
            metadata = nil
            return
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw H5ToLiteError(file: path, "cannot read (\(error.localizedDescription))")
        }
        do {
            let summary = try summarizeTFLite(bytes: bytes)
            graph = try readTFLite(bytes: bytes, name: path)
            metadata = try readMetadata(bytes: bytes)
            header = FileHeader(summary, metadata: metadata)
            self.summary = summary
        } catch {
            throw H5ToLiteError(file: path, "\(error)")
        }
    }
}

/// What `inspect --json` prints. Keras files fill the Keras fields, .tflite files the others.
public struct FileHeader: Encodable {
    public var format: String = "TFLite"
    public var kerasVersion: String?
    public var model: String?
    var schemaVersion: UInt32?
    var bytes: Int?
    var bufferBytes: Int?
    var description: String?
    var minRuntimeVersion: String?
    var signatures: [String]?
    var operatorCodes: [OperatorCode]?
    var metadata: MetadataDescription?
    var sparseTensors: [SparseTensor]?

    struct OperatorCode: Encodable {
        var name: String
        var version: Int32
        var uses: Int
    }

    struct SparseTensor: Encodable {
        var name: String
        var type: String
        var shape: [Int]
        var storedValues: Int
        var elements: Int
        var layout: String
    }

    public init(format: String = "TFLite", kerasVersion: String? = nil, model: String? = nil) {
        self.format = format
        self.kerasVersion = kerasVersion
        self.model = model
    }

    public init(_ summary: TFLiteSummary, metadata: PackedMetadata? = nil) {
        self.metadata = metadata.map(MetadataDescription.init)
        schemaVersion = summary.schemaVersion
        bytes = summary.fileBytes
        bufferBytes = summary.bufferBytes
        description = summary.description
        minRuntimeVersion = summary.minimumRuntime
        signatures = summary.signatures
        operatorCodes = summary.operatorCodes.map { OperatorCode(name: $0.name, version: $0.version, uses: $0.uses) }
        sparseTensors = summary.sparseTensors.map {
            SparseTensor(name: $0.name, type: $0.type, shape: $0.shape, storedValues: $0.storedValues, elements: $0.elements,
                         layout: $0.layout.summary)
        }
    }
}

public struct FileDescription: Encodable {
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

    public init(file: String, header: FileHeader, graph: Graph, includeText: Bool) {
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

/// TFLite metadata as `inspect --json` prints it.
struct MetadataDescription: Encodable {
    var name: String
    var description, version, author, license, minParserVersion: String?
    var inputs: [TensorDescription]
    var outputs: [TensorDescription]
    var associatedFiles: [FileEntry]

    struct TensorDescription: Encodable {
        var name: String
        var description: String?
        var content: String
        var mean, std, min, max: [Float]?
        var associatedFiles: [String]

        init(_ tensor: TensorMetadata) {
            name = tensor.name
            description = tensor.description
            content = contentText(tensor.content)
            (mean, std) = (tensor.normalization?.mean, tensor.normalization?.std)
            (min, max) = (tensor.range?.min, tensor.range?.max)
            associatedFiles = tensor.associatedFiles.map { "\($0.name) (\($0.type))" }
        }
    }

    struct FileEntry: Encodable {
        var name: String
        var bytes: Int
    }

    init(_ packed: PackedMetadata) {
        let metadata = packed.metadata
        name = metadata.name
        (description, version, author, license) = (metadata.description, metadata.version, metadata.author, metadata.license)
        minParserVersion = metadata.minParserVersion
        inputs = metadata.inputs.map(TensorDescription.init)
        outputs = metadata.outputs.map(TensorDescription.init)
        associatedFiles = packed.files.map { FileEntry(name: $0.name, bytes: $0.contents.count) }
    }
}

/// What a tensor's metadata says it holds: "image RGB 64x64", "feature", ...
public func contentText(_ content: TensorMetadata.Content) -> String {
    switch content {
    case .none: return "unspecified"
    case .feature: return "feature"
    case let .image(space, width, height): return "image \(space) \(width)x\(height)"
    case let .other(tag): return MetadataSchema.ContentProperties(rawValue: tag).map { "\($0)" } ?? "content type \(tag)"
    }
}
