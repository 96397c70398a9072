import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteEvaluation
import H5ToLiteIR
import H5ToLiteTFLite

/// What `convert` is asked to write as TFLite metadata. Fields left nil take defaults from
/// the Keras model (its name, a description of what it classifies).
public struct MetadataRequest: Sendable {
    public var name: String?
    public var description: String?
    public var version: String?
    public var author: String?
    public var license: String?
    /// The names of the labelled output's classes, in order, and the file they came from.
    public var classNames: (names: [String], source: String)?
    /// How pixels are scaled before the model sees them; needed for an image input.
    public var preprocessing: Preprocessing?
    /// The output the class names label, by name; nil for the first.
    public var labelledOutput: String?
    /// The preprocessing is put into the model (`embedNormalization`), which then reads 0..255 pixels.
    public var normalizationInModel = false

    public init(name: String? = nil, description: String? = nil, version: String? = nil, author: String? = nil,
                license: String? = nil, classNames: (names: [String], source: String)? = nil,
                preprocessing: Preprocessing? = nil, labelledOutput: String? = nil) {
        self.name = name
        self.description = description
        self.version = version
        self.author = author
        self.license = license
        self.classNames = classNames
        self.preprocessing = preprocessing
        self.labelledOutput = labelledOutput
    }
}

/// The class names of a `--class-names` file: one per line, blank lines at the end ignored.
public func readClassNames(path: String) throws -> (names: [String], source: String) {
    guard let data = FileManager.default.contents(atPath: path) else { throw H5ToLiteError(file: path, "cannot read the file") }
    guard let text = String(data: data, encoding: .utf8) else { throw H5ToLiteError(file: path, "is not UTF-8 text") }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    while lines.last?.isEmpty == true { lines.removeLast() }
    if let blank = lines.firstIndex(of: "") { throw H5ToLiteError(file: path, location: "line \(blank + 1)", "a class name is empty") }
    guard !lines.isEmpty else { throw H5ToLiteError(file: path, "names no class") }
    return (lines, path)
}

/// The class names a `--labels` CSV's header gives (nil for a .npy, which has none).
public func classNames(fromLabels path: String) throws -> (names: [String], source: String)? {
    guard path.lowercased().hasSuffix(".csv") else { return nil }
    return (try readLabelCSV(path: path).classes, path)
}

/// The metadata for `graph` (the graph as written) converted from `file`: image inputs with
/// their normalization, the labelled output's class names as a label file, each output's
/// meaning read from the model's last activation.
public func planMetadata(_ request: MetadataRequest, graph: Graph, modelName: String, file: String) throws -> PackedMetadata {
    let inputs = try graph.inputs.map {
        try inputMetadata(graph[$0], request.preprocessing, inModel: request.normalizationInModel, file: file)
    }
    let labelled = try labelledOutputIndex(request.labelledOutput, graph: graph, file: file)
    var files: [(name: String, contents: [UInt8])] = []
    var outputs: [TensorMetadata] = []
    for (index, id) in graph.outputs.enumerated() {
        var tensor = outputMetadata(graph[id], activation: finalActivation(of: id, in: graph))
        if index == labelled, let classes = request.classNames {
            let count = graph[id].shape.dropFirst().reduce(1, *)
            guard classes.names.count == count else {
                throw H5ToLiteError(file: classes.source, "names \(classes.names.count) classes; output '\(graph[id].name)' has \(count) values")
            }
            let label = AssociatedFile(name: "labels.txt", description: "The names of the \(count) classes of '\(graph[id].name)', in order.",
                                       type: .TENSOR_AXIS_LABELS)
            tensor.associatedFiles = [label]
            files.append((label.name, Array((classes.names.joined(separator: "\n") + "\n").utf8)))
        }
        outputs.append(tensor)
    }
    let metadata = ModelMetadata(
        name: request.name ?? modelName,
        description: request.description ?? defaultDescription(graph: graph, outputs: outputs, file: file),
        version: request.version, author: request.author, license: request.license, inputs: inputs, outputs: outputs)
    return PackedMetadata(metadata: metadata, files: files)
}

/// An NHWC input with 1 or 3 channels is an image; anything else a plain feature tensor.
private func inputMetadata(_ value: Value, _ preprocessing: Preprocessing?, inModel: Bool, file: String) throws -> TensorMetadata {
    guard value.shape.count == 4, [1, 3].contains(value.shape[3]) else {
        return TensorMetadata(name: value.name, description: "Input '\(value.name)'.", content: .feature)
    }
    let channels = value.shape[3]
    guard let preprocessing else {
        throw H5ToLiteError(file: file, location: "input '\(value.name)'",
                            "its metadata needs the pixel scaling the model was trained with: give --preprocess torch, tf or none")
    }
    guard let scaling = preprocessing.normalization else {
        throw H5ToLiteError(file: file, location: "input '\(value.name)'",
                            "caffe preprocessing swaps the channels to BGR, which TFLite metadata cannot express (its images are RGB or grayscale)")
    }
    guard channels == 3 || scaling.mean.count == 1 else {
        throw H5ToLiteError(file: file, location: "input '\(value.name)'", "\(preprocessing.rawValue) preprocessing needs an RGB input; it has 1 channel")
    }
    let normalization = inModel ? Normalization(mean: [0], std: [1]) : Normalization(mean: scaling.mean, std: scaling.std)
    let scaler = inModel ? "the model's first ops scale them" : "scaled"
    return TensorMetadata(
        name: value.name,
        description: "A \(value.shape[2])x\(value.shape[1]) \(channels == 3 ? "RGB" : "grayscale") image, pixels 0..255; \(scaler) as "
            + "keras.applications' \(preprocessing.rawValue) preprocessing does.",
        content: .image(channels == 3 ? .RGB : .GRAYSCALE, width: value.shape[2], height: value.shape[1]),
        normalization: normalization, range: inputRange(value.dtype, normalization))
}

/// The range of the input's values as TFLite Support's writers state it: the scaled 0..255
/// for float input, 0..255 for uint8; nothing for int8, which its readers do not take.
private func inputRange(_ dtype: DType, _ normalization: Normalization) -> StatsRange? {
    switch dtype {
    case .float32:
        return StatsRange(min: zip(normalization.mean, normalization.std).map { (0 - $0) / $1 },
                          max: zip(normalization.mean, normalization.std).map { (255 - $0) / $1 })
    case .uint8:
        return StatsRange(min: [0], max: [255])
    default:
        return nil
    }
}

enum FinalActivation {
    case sigmoid, softmax, other
}

/// The activation that computes `output`, looking through the QUANTIZE, DEQUANTIZE and
/// reshapes an int8 model or a Flatten puts after it.
func finalActivation(of output: ValueID, in graph: Graph) -> FinalActivation {
    let producers = graph.producers()
    var value = output
    while let index = producers[value] {
        let op = graph.ops[index]
        switch op.kind {
        case .unary(.logistic): return .sigmoid
        case .softmax: return .softmax
        case .quantize, .dequantize, .reshape, .identity: value = op.inputs[0]
        default: return .other
        }
    }
    return .other
}

private func outputMetadata(_ value: Value, activation: FinalActivation) -> TensorMetadata {
    let count = value.shape.dropFirst().reduce(1, *)
    let (meaning, isProbability): (String, Bool)
    switch activation {
    case .sigmoid: (meaning, isProbability) = ("\(count) independent probabilities (sigmoid, multi-label): each class scored on its own", true)
    case .softmax: (meaning, isProbability) = ("probabilities of \(count) classes (softmax, one label): they sum to 1", true)
    case .other: (meaning, isProbability) = ("\(count) values (the last layer is neither a sigmoid nor a softmax)", false)
    }
    var range: StatsRange?
    if isProbability, value.dtype == .float32 { range = StatsRange(min: [0], max: [1]) }
    if value.dtype == .uint8 { range = StatsRange(min: [0], max: [255]) }
    return TensorMetadata(name: value.name, description: "Output '\(value.name)': \(meaning).", content: .feature, range: range)
}

private func labelledOutputIndex(_ name: String?, graph: Graph, file: String) throws -> Int {
    guard let name else { return 0 }
    guard let index = graph.outputs.firstIndex(where: { graph[$0].name == name }) else {
        throw H5ToLiteError(file: file, "--labelled-output: the model has no output named '\(name)' "
                            + "(its outputs: \(graph.outputs.map { graph[$0].name }.joined(separator: ", ")))")
    }
    return index
}

private func defaultDescription(graph: Graph, outputs: [TensorMetadata], file: String) -> String {
    let source = (file as NSString).lastPathComponent
    let what = outputs.map { $0.description ?? "" }.joined(separator: " ")
    return "Converted from \(source) by h5tolite. \(what)"
}
