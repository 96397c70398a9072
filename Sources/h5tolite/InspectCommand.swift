import ArgumentParser
import Foundation
import H5ToLiteIR
import H5ToLiteKeras

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a .h5, .keras or .tflite file: layers or ops, tensors, parameters, sizes.")

    @Argument(help: "The file to describe.")
    var file: String

    func run() throws {
        let keras = try loadKerasModel(path: file)
        let graph = try importKeras(keras)
        print("\(file): \(keras.format.rawValue), Keras \(keras.kerasVersion), model '\(keras.name)'")
        for id in graph.inputs {
            print("  input  \(graph[id].name): \(graph[id].shape)")
        }
        for id in graph.outputs {
            print("  output \(graph[id].name): \(graph[id].shape)")
        }
        print("  \(graph.ops.count) ops, \(graph.parameterCount) parameters")
        print(printGraph(graph), terminator: "")
    }
}
