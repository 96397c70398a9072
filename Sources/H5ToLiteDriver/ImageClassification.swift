import Foundation
import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR
import H5ToLiteTFLite

/// One class of `run --image`'s answer.
public struct ClassScore: Equatable, Sendable {
    public var index: Int
    /// The label file's name for the class, or nil when the metadata has none.
    public var label: String?
    public var score: Float
}

/// `run --image`: classifies one image file as an app reading the model's metadata would:
/// decoded, resized to the input (TensorFlow's bilinear resize), scaled with the embedded
/// NormalizationOptions, run with the bundled interpreter; the first output's classes are
/// returned best first, named by its label file.
public func classifyImage(model: String, image: String, threads: Int) throws -> [ClassScore] {
    guard let packed = try readMetadata(path: model) else {
        throw H5ToLiteError(file: model, "has no TFLite metadata, so it does not say how to scale pixels: "
                            + "convert with --metadata --preprocess MODE, or run it on arrays with --input")
    }
    guard let input = packed.metadata.inputs.first, packed.metadata.inputs.count == 1,
          case .image = input.content, let normalization = input.normalization else {
        throw H5ToLiteError(file: model, location: metadataEntryName, "no single image input with NormalizationOptions")
    }
    // The size comes from the model's tensor: writers may leave ImageProperties' default_size out.
    let graph = try readTFLite(path: model)
    let shape = graph[graph.inputs[0]].shape
    guard shape.count == 4, [1, 3].contains(shape[3]), [1, shape[3]].contains(normalization.mean.count) else {
        throw H5ToLiteError(file: model, location: "input '\(input.name)'",
                            "shape \(shape) with \(normalization.mean.count) normalization value(s) is not an image input of 1 or 3 channels")
    }
    let (height, width, channels) = (shape[1], shape[2], shape[3])
    var batch = try loadImageBatch(paths: [image], height: height, width: width, channels: channels, preprocessing: .none)
    normalization.apply(to: &batch.data, channels: channels)
    let scores = try runTFLite(model: model, inputs: [batch], threads: threads)[0].values.data
    let labels = packed.labels(ofOutput: 0)
    guard labels == nil || labels!.count == scores.count else {
        throw H5ToLiteError(file: model, location: "\(metadataEntryName): labels",
                            "\(labels!.count) labels for an output of \(scores.count) values")
    }
    return scores.enumerated()
        .map { ClassScore(index: $0.offset, label: labels?[$0.offset], score: $0.element) }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
}
