import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR

/// Model inputs from a `.npy` array (already preprocessed, batch first) or from a folder of
/// PNG, JPEG or DICOM images (decoded, resized to the model's input and preprocessed).
/// `names`, when given, picks and orders the images (a label CSV's image column).
public func loadSamples(_ path: String, inputShape: [Int], preprocessing: Preprocessing?, limit: Int? = nil,
                        names: [String]? = nil, label: String) throws -> Tensor {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw H5ToLiteError(file: path, "no such file or folder")
    }
    guard isFolder.boolValue else {
        let samples = try readNPY(path: path)
        guard Array(samples.shape.dropFirst()) == inputShape else {
            throw H5ToLiteError(file: path, "samples shaped \(samples.shape), the model takes [N, \(inputShape.map(String.init).joined(separator: ", "))]")
        }
        return limit.map { firstSamples(samples, count: $0) } ?? samples
    }
    guard let preprocessing else {
        throw H5ToLiteError(file: path, "a folder of images needs --preprocess torch|tf|caffe|none (how the training images were preprocessed)")
    }
    guard inputShape.count == 3 else { throw H5ToLiteError(file: path, "images need a model input shaped (H, W, C)") }
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
    return try loadImageBatch(paths: files, height: inputShape[0], width: inputShape[1], channels: inputShape[2],
                              preprocessing: preprocessing, progress: { bar.update($0, $1) })
}

/// `samples` cut along the batch axis into batches of at most `size`.
public func batches(_ samples: Tensor, size: Int) -> [Tensor] {
    let count = samples.shape.first ?? 0
    let stride = count > 0 ? samples.data.count / count : 0
    return Swift.stride(from: 0, to: count, by: size).map { start in
        let end = min(start + size, count)
        return Tensor(shape: [end - start] + samples.shape.dropFirst(), data: Array(samples.data[start * stride..<end * stride]))
    }
}

public func firstSamples(_ samples: Tensor, count: Int) -> Tensor {
    batches(samples, size: count).first ?? samples
}
