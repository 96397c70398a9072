import Foundation
import H5ToLiteCore
import H5ToLiteIR
@testable import H5ToLiteInterpreter

/// The repository root, found from this file's location.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Every single-input golden model folder that holds a TensorFlow-converted file.
func goldenModels() throws -> [URL] {
    let folder = repositoryRoot.appendingPathComponent("golden/models")
    return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        .filter { model in
            ["tf.tflite", "input.npy"].allSatisfy { FileManager.default.fileExists(atPath: model.appendingPathComponent($0).path) }
        }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
}

/// Largest difference between two arrays, absolute below magnitude 1 and
/// relative above it.
func largestError(_ actual: [Float], _ expected: [Float]) -> Float {
    zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
}

/// Runs a one-input graph built by `build` on `input` (whose first axis is a batch of 1).
func evaluate(_ input: Tensor, _ build: (inout Graph, ValueID) throws -> ValueID) throws -> Tensor {
    var graph = Graph(name: "test")
    let x = graph.addInput(name: "x", shape: input.shape)
    graph.outputs = [try build(&graph, x)]
    return try Interpreter(graph: graph, threads: 2).run([input])[0]
}

extension Graph {
    mutating func constant(_ values: [Float], _ shape: [Int]) -> ValueID {
        addConstant(name: "c\(self.values.count)", shape: shape, data: .float32(values))
    }

    mutating func op(_ kind: OpKind, _ inputs: [ValueID]) throws -> ValueID {
        try addOp(kind, inputs: inputs, name: "v\(values.count)", origin: "test")
    }
}

/// 0, 1, 2, ... in the given shape.
func iota(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
}
