import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR

/// One input of a model: its name and the shape of one sample (without the batch axis).
public struct ModelInput: Sendable, Equatable {
    public let name: String
    public let shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

extension Graph {
    /// The model's inputs in its input order, the order samples are given in.
    public var modelInputs: [ModelInput] {
        zip(inputs, sampleShapes).map { ModelInput(name: self[$0].name, shape: $1) }
    }
}

/// Samples named on the command line, one path per model input in the model's input order
/// (`a.npy,b.npy`): `.npy` arrays of preprocessed inputs, or a folder of images for a model
/// with one image input.
public struct SampleFile: Sendable {
    public var paths: [String]
    public var preprocessing: Preprocessing?
    /// Use at most this many samples.
    public var limit: Int?

    public init(paths: [String], preprocessing: Preprocessing? = nil, limit: Int? = nil) {
        self.paths = paths
        self.preprocessing = preprocessing
        self.limit = limit
    }

    /// `list` as the command line gives it: paths separated by commas, as `run --input` takes them.
    public init(list: String, preprocessing: Preprocessing? = nil, limit: Int? = nil) {
        self.init(paths: list.split(separator: ",").map(String.init), preprocessing: preprocessing, limit: limit)
    }
}

/// One tensor per model input from `file`: each `.npy` already preprocessed, batch first, shaped
/// like its input and holding as many samples as the others; a folder of PNG, JPEG or DICOM
/// images (decoded, resized to the input and preprocessed) only for a model with one input.
/// `names`, when given, picks and orders the images (a label CSV's image column).
public func loadSamples(_ file: SampleFile, for inputs: [ModelInput], names: [String]? = nil, label: String) throws -> [Tensor] {
    guard file.paths.count == inputs.count else {
        throw H5ToLiteError(file: file.paths.joined(separator: ","),
                            "the model takes \(inputs.count) input\(inputs.count == 1 ? "" : "s") (\(quotedNames(inputs))): "
                            + "one array per input, comma-separated in that order; got \(file.paths.count)")
    }
    let samples = try zip(file.paths, inputs).map { path, input in
        try loadInput(path, input, inputs: inputs, file: file, names: names, label: label)
    }
    for (path, (tensor, input)) in zip(file.paths, zip(samples, inputs)) where tensor.shape[0] != samples.sampleCount {
        throw H5ToLiteError(file: path, "\(tensor.shape[0]) samples for input '\(input.name)', but \(file.paths[0]) holds "
                            + "\(samples.sampleCount) for input '\(inputs[0].name)'; every input needs the same samples")
    }
    return file.limit.map { firstSamples(samples, count: $0) } ?? samples
}

/// The samples of one input from a `.npy` file or, for a model whose only input is an image,
/// an image folder.
private func loadInput(_ path: String, _ input: ModelInput, inputs: [ModelInput], file: SampleFile, names: [String]?,
                       label: String) throws -> Tensor {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw H5ToLiteError(file: path, "no such file or folder")
    }
    guard isFolder.boolValue else {
        let samples = try readNPY(path: path)
        guard !samples.shape.isEmpty, Array(samples.shape.dropFirst()) == input.shape else {
            throw H5ToLiteError(file: path, "samples shaped \(samples.shape), input '\(input.name)' takes [N, "
                                + "\(input.shape.map(String.init).joined(separator: ", "))]")
        }
        return samples
    }
    guard inputs.count == 1 else {
        throw H5ToLiteError(file: path, "a folder of images feeds a model with one image input; this model takes \(inputs.count) "
                            + "inputs (\(quotedNames(inputs))): give one preprocessed .npy per input, "
                            + "comma-separated in that order")
    }
    return try loadImages(path, shape: input.shape, preprocessing: file.preprocessing, limit: file.limit, names: names, label: label)
}

/// A folder of PNG, JPEG or DICOM images, decoded, resized to `shape` (H, W, C) and preprocessed;
/// only the first `limit` are decoded.
private func loadImages(_ path: String, shape: [Int], preprocessing: Preprocessing?, limit: Int?, names: [String]?,
                        label: String) throws -> Tensor {
    guard let preprocessing else {
        throw H5ToLiteError(file: path, "a folder of images needs --preprocess torch|tf|caffe|none (how the training images were preprocessed)")
    }
    guard shape.count == 3 else { throw H5ToLiteError(file: path, "images need a model input shaped (H, W, C)") }
    var files = try imageFiles(in: path)
    if let names {
        let byName = Dictionary(files.map { (($0 as NSString).lastPathComponent, $0) }, uniquingKeysWith: { first, _ in first })
        files = try names.map { name in
            guard let file = byName[(name as NSString).lastPathComponent] else {
                throw H5ToLiteError(file: path, "no image named '\(name)' (listed in the labels)")
            }
            return file
        }
    }
    if let limit { files = Array(files.prefix(limit)) }
    guard !files.isEmpty else { throw H5ToLiteError(file: path, "no PNG, JPEG or DICOM images") }
    let bar = ProgressBar(label: label)
    defer { bar.finish() }
    return try loadImageBatch(paths: files, height: shape[0], width: shape[1], channels: shape[2],
                              preprocessing: preprocessing, progress: { bar.update($0, $1) })
}

/// `'image', 'clinical'`: the inputs' names as errors list them.
func quotedNames(_ inputs: [ModelInput]) -> String {
    inputs.map { "'\($0.name)'" }.joined(separator: ", ")
}

/// `inputs` (one tensor per model input, the same samples in each) cut along the batch axis
/// into batches of at most `size` samples.
public func batches(_ inputs: [Tensor], size: Int) -> [[Tensor]] {
    let count = inputs.sampleCount
    return stride(from: 0, to: count, by: size).map { start in
        inputs.map { samples($0, start..<min(start + size, count)) }
    }
}

/// The first `count` samples of every input (all of them when there are fewer).
public func firstSamples(_ inputs: [Tensor], count: Int) -> [Tensor] {
    inputs.map { samples($0, 0..<min(count, $0.shape.first ?? 0)) }
}

private func samples(_ tensor: Tensor, _ range: Range<Int>) -> Tensor {
    let stride = tensor.shape.first.map { $0 > 0 ? tensor.data.count / $0 : 0 } ?? 0
    return Tensor(shape: [range.count] + tensor.shape.dropFirst(),
                  data: Array(tensor.data[range.lowerBound * stride..<range.upperBound * stride]))
}
