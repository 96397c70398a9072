import Foundation
import H5ToLiteIR
import H5ToLiteTFLite
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// `run(_:observe:)`: every value the graph computes, as float32, per batch.
@Suite struct ObservationTests {
    @Test func observesInputsAndEveryOpOutputInOrder() throws {
        var graph = Graph(name: "observed")
        let x = graph.addInput(name: "x", shape: [1, 3])
        let scaled = try graph.op(.binary(.mul, .none), [x, graph.constant([2, 2, 2], [3])])
        // A MUL by a constant feeding an ADD of a constant runs fused in `run`; observed, both appear.
        let shifted = try graph.op(.binary(.add, .relu), [scaled, graph.constant([-3, -3, -3], [3])])
        graph.outputs = [shifted]
        let interpreter = try Interpreter(graph: graph, threads: 1)
        var seen: [(ValueID, [Float])] = []
        let outputs = try interpreter.run([Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])]) { id, tensor in
            #expect(tensor.shape == graph[id].shape)
            seen.append((id, tensor.data))
        }
        #expect(seen.map(\.0) == [x, scaled, shifted, x, scaled, shifted])
        #expect(seen[1].1 == [2, 4, 6] && seen[2].1 == [0, 1, 3] && seen[5].1 == [5, 7, 9])
        #expect(outputs[0].data == [0, 1, 3, 5, 7, 9])
        #expect(try interpreter.run([Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])])[0] == outputs[0])
    }

    @Test func quantizedValuesAreObservedDequantized() throws {
        var graph = Graph(name: "quantized")
        let x = graph.addInput(name: "x", shape: [1, 2])
        let q = try graph.addOp(.quantize, inputs: [x], name: "q", origin: "test", dtype: .int8,
                                quantization: Quantization(scale: 0.5, zeroPoint: 1))
        graph.outputs = [try graph.addOp(.unary(.relu), inputs: [q], name: "r", origin: "test", dtype: .int8,
                                         quantization: Quantization(scale: 0.25, zeroPoint: -128))]
        var observed: [ValueID: [Float]] = [:]
        let output = try Interpreter(graph: graph, threads: 1).run([Tensor(shape: [1, 2], data: [-1.2, 3.1])]) { id, tensor in
            observed[id] = tensor.data
        }
        #expect(observed[q] == [-1, 3])   // q = -1.2 / 0.5 -> -2 (+1); 3.1 / 0.5 -> 6 (+1)
        #expect(observed[graph.outputs[0]] == [0, 3] && output[0].data == [0, 3])
    }

    @Test func observesAGoldenModelAsItRuns() throws {
        let folder = repositoryRoot.appendingPathComponent("golden/models/mini_mobilenetv2")
        let graph = try readTFLite(path: folder.appendingPathComponent("tf.tflite").path)
        let input = try readNPY(path: folder.appendingPathComponent("input.npy").path)
        let interpreter = try Interpreter(graph: graph, threads: 2)
        var ranges: [ValueID: ClosedRange<Float>] = [:]
        let observed = try interpreter.run([input]) { id, tensor in
            let low = tensor.data.min()!, high = tensor.data.max()!
            ranges[id] = ranges[id].map { min($0.lowerBound, low)...max($0.upperBound, high) } ?? low...high
        }
        let computed = Set(graph.inputs + graph.ops.flatMap(\.outputs))
        #expect(Set(ranges.keys) == computed)
        #expect(observed == (try interpreter.run([input])))
    }
}
