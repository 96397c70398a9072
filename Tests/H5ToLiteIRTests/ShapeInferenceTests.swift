import Testing
import H5ToLiteCore
@testable import H5ToLiteIR

@Suite struct ShapeInferenceTests {
    @Test func convolutionFollowsTFLitePaddingRules() throws {
        let input = [1, 15, 15, 3]
        let filter = [8, 3, 3, 3]
        let same = try inferShape(.conv2d(Window(stride: [2, 2], padding: .same), .none), inputs: [input, filter, [8]])
        let valid = try inferShape(.conv2d(Window(stride: [2, 2], padding: .valid), .none), inputs: [input, filter, [8]])
        let dilated = try inferShape(.conv2d(Window(dilation: [2, 2], padding: .valid), .none), inputs: [input, filter, [8]])
        #expect(same == [1, 8, 8, 8])     // ceil(15 / 2)
        #expect(valid == [1, 7, 7, 8])    // (15 - 3) / 2 + 1
        #expect(dilated == [1, 11, 11, 8]) // effective kernel 5
    }

    @Test func mismatchedFilterIsAnError() {
        #expect(throws: H5ToLiteError.self) {
            try inferShape(.conv2d(Window(padding: .same), .none), inputs: [[1, 8, 8, 3], [4, 3, 3, 5]])
        }
    }

    @Test func broadcastingFollowsNumPy() throws {
        #expect(try broadcast([1, 4, 4, 8], [8]) == [1, 4, 4, 8])
        #expect(try broadcast([], [2, 3]) == [2, 3])
        #expect(throws: H5ToLiteError.self) { try broadcast([1, 4, 4, 8], [4]) }
    }

    @Test func reductionsDropOrKeepAxes() throws {
        #expect(try inferShape(.mean(axes: [1, 2], keepDims: false), inputs: [[1, 7, 7, 32]]) == [1, 32])
        #expect(try inferShape(.mean(axes: [1, 2], keepDims: true), inputs: [[1, 7, 7, 32]]) == [1, 1, 1, 32])
    }

    @Test func stridedSliceCountsElements() throws {
        let shape = try inferShape(.stridedSlice(begin: [0, 1, 0, 0], end: [1, 7, 6, 3], strides: [1, 2, 1, 1]),
                                   inputs: [[1, 8, 8, 3]])
        #expect(shape == [1, 3, 6, 3])
    }
}

@Suite struct GraphTests {
    func smallGraph() throws -> Graph {
        var graph = Graph(name: "tiny")
        let x = graph.addInput(name: "input", shape: [1, 4, 4, 2])
        let filter = graph.addConstant(name: "conv/kernel", shape: [3, 1, 1, 2], data: .float32([1, 2, 3, 4, 5, 6]))
        let bias = graph.addConstant(name: "conv/bias", shape: [3], data: .float32([0, 0.5, -1]))
        let conv = try graph.addOp(.conv2d(Window(padding: .same), .relu), inputs: [x, filter, bias], name: "conv", origin: "conv")
        let pooled = try graph.addOp(.mean(axes: [1, 2], keepDims: false), inputs: [conv], name: "pool", origin: "pool")
        graph.outputs = [pooled]
        return graph
    }

    @Test func printerIsStableAndReadable() throws {
        let expected = """
        graph "tiny" {
          input %0 "input": f32[1,4,4,2]
          const %1 "conv/kernel": f32[3,1,1,2] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
          const %2 "conv/bias": f32[3] [0.0, 0.5, -1.0]
          %3 "conv": f32[1,4,4,3] = conv2d(%0, %1, %2) {stride=1x1 dilation=1x1 padding=same activation=relu}
          %4 "pool": f32[1,3] = mean(%3) {axes=[1,2] keep_dims=false}
          output %4
        }

        """
        #expect(printGraph(try smallGraph()) == expected)
    }

    @Test func verifierCatchesAWrongShape() throws {
        var graph = try smallGraph()
        graph[4].shape = [1, 4]
        #expect(throws: H5ToLiteError.self) { try verify(graph) }
        try verify(try smallGraph())
    }

    @Test func verifierCatchesUseBeforeDefinition() throws {
        var graph = try smallGraph()
        graph.ops.reverse()
        #expect(throws: H5ToLiteError.self) { try verify(graph) }
    }
}
