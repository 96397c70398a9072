import Foundation
import H5ToLiteCore
import H5ToLiteKeras

let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func goldenPath(_ relative: String) -> String {
    repository.appendingPathComponent("golden/\(relative)").path
}

/// A golden model's Keras 3 .h5, read in-process.
func goldenModel(_ name: String) throws -> KerasModel {
    try loadKerasModel(path: goldenPath("models/\(name)/keras3.h5"))
}

func goldenArray(_ model: String, _ file: String) throws -> Tensor {
    try readNPY(path: goldenPath("models/\(model)/\(file)"))
}

/// A measured value Keras or scikit-learn recorded in a golden model's info.json,
/// by its path of keys.
func recorded(_ model: String, _ keys: String...) throws -> Double {
    var node: Any = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: goldenPath("models/\(model)/info.json"))))
    for key in keys {
        node = (node as? [String: Any])?[key] as Any
    }
    guard let value = node as? Double else { throw CocoaError(.coderValueNotFound) }
    return value
}

func largestDifference(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).map { Double(abs($0 - $1)) }.max() ?? 0
}
