import Foundation
import H5ToLiteIR
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// Each kernel on inputs small enough to work out by hand.
@Suite struct KernelTests {
    @Test func convolutionSamePaddingWithBiasAndRelu() throws {
        let ones = Tensor(shape: [1, 3, 3, 1], data: Array(repeating: 1, count: 9))
        let y = try evaluate(ones) { g, x in
            try g.op(.conv2d(Window(padding: .same), .relu), [x, g.constant(Array(repeating: 1, count: 9), [1, 3, 3, 1]), g.constant([1], [1])])
        }
        // Taps inside the image: 4 at corners, 6 on edges, 9 in the middle; plus the bias.
        #expect(y.data == [5, 7, 5, 7, 10, 7, 5, 7, 5])
    }

    @Test func convolutionPutsTheOddPaddingAfter() throws {
        // 3x3 input, 2x2 window, stride 2, SAME: one row and column of padding, all after.
        let y = try evaluate(Tensor(shape: [1, 3, 3, 1], data: (1...9).map(Float.init))) { g, x in
            try g.op(.conv2d(Window(stride: [2, 2], padding: .same), .none), [x, g.constant([1, 1, 1, 1], [1, 2, 2, 1])])
        }
        #expect(y.shape == [1, 2, 2, 1])
        let expected: [Float] = [12, 9, 15, 9]  // 1+2+4+5, 3+6, 7+8, 9
        #expect(y.data == expected)
    }

    @Test func pointwiseConvolutionMixesChannels() throws {
        let y = try evaluate(Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])) { g, x in
            try g.op(.conv2d(Window(padding: .valid), .none), [x, g.constant([1, 0, 0, 1, 1, 1], [3, 1, 1, 2])])
        }
        #expect(y.data == [1, 2, 3, 3, 4, 7])
    }

    @Test func dilatedConvolutionSkipsInputs() throws {
        let y = try evaluate(Tensor(shape: [1, 1, 5, 1], data: [1, 2, 3, 4, 5])) { g, x in
            try g.op(.conv2d(Window(dilation: [1, 2], padding: .valid), .none), [x, g.constant([1, 1], [1, 1, 2, 1])])
        }
        let expected: [Float] = [4, 6, 8]  // 1+3, 2+4, 3+5
        #expect(y.data == expected)
    }

    @Test func depthwiseMultiplierGivesEachInputChannelItsOwnOutputs() throws {
        let y = try evaluate(Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])) { g, x in
            try g.op(.depthwiseConv2d(Window(padding: .valid), multiplier: 2, .none),
                     [x, g.constant([1, 10, 100, 1000], [1, 1, 1, 4]), g.constant([0, 0, 0, 1], [4])])
        }
        #expect(y.data == [1, 10, 200, 2001, 3, 30, 400, 4001])
    }

    @Test func depthwiseSamePadding() throws {
        let y = try evaluate(Tensor(shape: [1, 3, 3, 1], data: Array(repeating: 1, count: 9))) { g, x in
            try g.op(.depthwiseConv2d(Window(padding: .same), multiplier: 1, .relu6), [x, g.constant(Array(repeating: 1, count: 9), [1, 3, 3, 1])])
        }
        #expect(y.data == [4, 6, 4, 6, 6, 6, 4, 6, 4])
    }

    @Test func averagePoolCountsOnlyInputPixels() throws {
        // 4x4 input 0...15, 3x3 window, stride 2, SAME: padding only after.
        let y = try evaluate(iota([1, 4, 4, 1])) { g, x in
            try g.op(.averagePool(Window(size: [3, 3], stride: [2, 2], padding: .same), .none), [x])
        }
        let expected: [Float] = [5, 6.5, 11, 12.5]  // 45/9, 39/6, 66/6, 50/4
        #expect(y.data == expected)
    }

    @Test func maxPool() throws {
        let y = try evaluate(iota([1, 4, 4, 1])) { g, x in
            try g.op(.maxPool(Window(size: [2, 2], stride: [2, 2], padding: .valid), .none), [x])
        }
        #expect(y.data == [5, 7, 13, 15])
    }

    @Test func fullyConnectedRowAndMatrix() throws {
        let weights: [Float] = [1, 0, 1, 0, 1, 0]
        let row = try evaluate(Tensor(shape: [1, 3], data: [1, 2, 3])) { g, x in
            try g.op(.fullyConnected(.none), [x, g.constant(weights, [2, 3]), g.constant([0.5, -1], [2])])
        }
        #expect(row.data == [4.5, 1])
        let rows = try evaluate(Tensor(shape: [1, 2, 3], data: [1, 2, 3, -4, 5, -6])) { g, x in
            try g.op(.fullyConnected(.relu), [x, g.constant(weights, [2, 3])])
        }
        #expect(rows.shape == [1, 2, 2])
        #expect(rows.data == [4, 2, 0, 5])
    }

    @Test func bilinearResizeCoordinateModes() throws {
        let row = Tensor(shape: [1, 1, 2, 1], data: [0, 1])
        func resize(_ width: Int, align: Bool, half: Bool) throws -> [Float] {
            try evaluate(row) { g, x in try g.op(.resize(.bilinear, size: [1, width], alignCorners: align, halfPixelCenters: half), [x]) }.data
        }
        #expect(try resize(4, align: false, half: true) == [0, 0.25, 0.75, 1])
        #expect(try resize(3, align: true, half: false) == [0, 0.5, 1])
        #expect(try resize(4, align: false, half: false) == [0, 0.5, 1, 1])
    }

    @Test func nearestResizeCoordinateModes() throws {
        let row = Tensor(shape: [1, 1, 2, 1], data: [1, 2])
        func resize(_ width: Int, align: Bool, half: Bool) throws -> [Float] {
            try evaluate(row) { g, x in try g.op(.resize(.nearest, size: [1, width], alignCorners: align, halfPixelCenters: half), [x]) }.data
        }
        #expect(try resize(4, align: false, half: true) == [1, 1, 2, 2])
        #expect(try resize(3, align: true, half: false) == [1, 2, 2])  // 0.5 rounds away from zero
        #expect(try resize(3, align: false, half: false) == [1, 1, 2])
    }

    @Test func softmaxWithBeta() throws {
        let input = Tensor(shape: [1, 2], data: [0, log(2)])
        let plain = try evaluate(input) { g, x in try g.op(.softmax(beta: 1), [x]) }
        let sharp = try evaluate(input) { g, x in try g.op(.softmax(beta: 2), [x]) }
        #expect(largestError(plain.data, [1.0 / 3, 2.0 / 3]) < 1e-6)
        #expect(largestError(sharp.data, [0.2, 0.8]) < 1e-6)
    }

    @Test func binaryOpsBroadcastAndFuseActivations() throws {
        let x = Tensor(shape: [1, 2, 3], data: [1, 2, 3, 4, 5, 6])
        let added = try evaluate(x) { g, x in try g.op(.binary(.add, .relu6), [x, g.constant([10, -10, 0], [3])]) }
        #expect(added.data == [6, 0, 3, 6, 0, 6])
        let divided = try evaluate(x) { g, x in try g.op(.binary(.div, .none), [g.constant([12], []), x]) }
        let quotients: [Float] = [12, 6, 4, 3, 2.4, 2]
        #expect(divided.data == quotients)
        let column = try evaluate(x) { g, x in try g.op(.binary(.sub, .none), [x, g.constant([1, 4], [2, 1])]) }
        #expect(column.data == [0, 1, 2, 0, 1, 2])
        let clipped = try evaluate(x) { g, x in
            try g.op(.binary(.minimum, .none), [try g.op(.binary(.maximum, .none), [x, g.constant([2], [1])]), g.constant([5], [1])])
        }
        #expect(clipped.data == [2, 2, 3, 4, 5, 5])
    }

    @Test func multiplyThenAddRunsAsOnePass() throws {
        let y = try evaluate(Tensor(shape: [1, 2, 2], data: [1, -2, 3, -4])) { g, x in
            let scaled = try g.op(.binary(.mul, .none), [x, g.constant([2, 3], [2])])
            return try g.op(.binary(.add, .relu), [g.constant([1, 1], [2]), scaled])
        }
        #expect(y.data == [3, 0, 7, 0])
    }

    @Test func greaterAndSelect() throws {
        let y = try evaluate(Tensor(shape: [1, 4], data: [0.2, 0.5, 0.7, -1])) { g, x in
            let above = try g.op(.greater, [x, g.constant([0.5], [])])
            return try g.op(.select, [above, x, g.constant([0], [])])
        }
        #expect(y.data == [0, 0, 0.7, 0])
    }

    @Test func activations() throws {
        let x = Tensor(shape: [1, 5], data: [-10, -1, 0, 1, 20])
        func apply(_ kind: OpKind) throws -> [Float] { try evaluate(x) { g, x in try g.op(kind, [x]) }.data }
        #expect(try apply(.unary(.relu)) == [0, 0, 0, 1, 20])
        #expect(try apply(.unary(.relu6)) == [0, 0, 0, 1, 6])
        #expect(try apply(.unary(.reluN1To1)) == [-1, -1, 0, 1, 1])
        #expect(try apply(.leakyRelu(alpha: 0.1)) == [-1, -0.1, 0, 1, 20])
        let elu: [Float] = [expm1(-10), expm1(-1), 0, 1, 20]
        #expect(try apply(.unary(.elu)) == elu)
        let hardSwish: [Float] = [0, Float(-2) / 6, 0, Float(4) / 6, 20]  // x * relu6(x + 3) / 6
        #expect(try apply(.unary(.hardSwish)) == hardSwish)
        // Below -9 TFLite returns exp(x), above 16.62 exactly 1.
        let e: Float = exp(1)
        let logistic: [Float] = [exp(-10), 1 / (1 + e), 0.5, 1 / (1 + 1 / e), 1]
        #expect(largestError(try apply(.unary(.logistic)), logistic) < 1e-7)
        let tanhs: [Float] = [tanh(-10), tanh(-1), 0, tanh(1), 1]
        #expect(try apply(.unary(.tanh)) == tanhs)
    }

    @Test func preluScalesNegativesPerChannel() throws {
        let y = try evaluate(Tensor(shape: [1, 2, 2], data: [-1, -1, 2, -4])) { g, x in
            try g.op(.prelu, [x, g.constant([0.5, 0.25], [2])])
        }
        #expect(y.data == [-0.5, -0.25, 2, -1])
    }

    @Test func reductions() throws {
        let x = iota([1, 2, 2, 2])
        let mean = try evaluate(x) { g, x in try g.op(.mean(axes: [1, 2], keepDims: false), [x]) }
        #expect(mean.shape == [1, 2])
        #expect(mean.data == [3, 4])
        let largest = try evaluate(x) { g, x in try g.op(.reduceMax(axes: [2], keepDims: true), [x]) }
        #expect(largest.shape == [1, 2, 1, 2])
        #expect(largest.data == [2, 3, 6, 7])
    }

    @Test func shapeOps() throws {
        let x = iota([1, 2, 3])
        let joined = try evaluate(x) { g, x in try g.op(.concat(axis: 2, .none), [x, g.constant([-1, -2], [1, 2, 1])]) }
        #expect(joined.data == [0, 1, 2, -1, 3, 4, 5, -2])
        let padded = try evaluate(x) { g, x in try g.op(.pad([[0, 0], [1, 0], [0, 1]]), [x]) }
        #expect(padded.shape == [1, 3, 4])
        #expect(padded.data == [0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 5, 0])
        let swapped = try evaluate(x) { g, x in try g.op(.transpose([0, 2, 1]), [x]) }
        #expect(swapped.data == [0, 3, 1, 4, 2, 5])
        let sliced = try evaluate(x) { g, x in try g.op(.stridedSlice(begin: [0, 0, 1], end: [1, 2, 3], strides: [1, 1, 2]), [x]) }
        #expect(sliced.data == [1, 4])
        let reshaped = try evaluate(x) { g, x in try g.op(.reshape([1, 3, 2]), [x]) }
        #expect(reshaped.shape == [1, 3, 2])
        #expect(reshaped.data == x.data)
    }

    @Test func runsEverySampleOfABatch() throws {
        var graph = Graph(name: "batch")
        let x = graph.addInput(name: "x", shape: [1, 2])
        graph.outputs = [try graph.op(.binary(.mul, .none), [x, graph.constant([2], [])])]
        let interpreter = try Interpreter(graph: graph, threads: 1)
        let y = try interpreter.run([Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, 6])])[0]
        #expect(y.shape == [3, 2])
        #expect(y.data == [2, 4, 6, 8, 10, 12])
        #expect(throws: H5ToLiteError.self) { try interpreter.run([Tensor(shape: [3, 3], data: Array(repeating: 0, count: 9))]) }
        #expect(throws: H5ToLiteError.self) { try interpreter.run([]) }
    }

    @Test func refusesGraphsItCannotRun() throws {
        var graph = Graph(name: "bad bias")
        let x = graph.addInput(name: "x", shape: [1, 1, 1, 2])
        graph.outputs = [try graph.op(.conv2d(Window(padding: .valid), .none),
                                      [x, graph.constant([1, 1], [1, 1, 1, 2]), graph.constant([0, 0], [2])])]
        #expect(throws: H5ToLiteError.self) { try Interpreter(graph: graph) }

        var integers = Graph(name: "integer data")
        let y = integers.addInput(name: "y", shape: [1, 2])
        let two = integers.addConstant(name: "two", shape: [2], data: .int32([2, 2]))
        integers.outputs = [try integers.op(.binary(.mul, .none), [y, two])]
        #expect(throws: H5ToLiteError.self) { try Interpreter(graph: integers) }
    }

    @Test func arenaNeverOverlapsLiveBuffers() {
        var generator = SystemRandomNumberGenerator()
        let buffers = (0..<200).map { _ -> BufferLifetime in
            let first = Int.random(in: 0..<100, using: &generator)
            return BufferLifetime(count: Int.random(in: 1..<5000, using: &generator), first: first,
                                  last: first + Int.random(in: 0..<10, using: &generator))
        }
        let plan = planArena(buffers)
        for i in buffers.indices {
            #expect(plan.offsets[i] % 16 == 0 && plan.offsets[i] + buffers[i].count <= plan.count)
            for j in buffers.indices where i < j && buffers[i].overlaps(buffers[j]) {
                let disjoint = plan.offsets[i] + buffers[i].count <= plan.offsets[j] || plan.offsets[j] + buffers[j].count <= plan.offsets[i]
                #expect(disjoint)
            }
        }
        #expect(plan.count < buffers.reduce(0) { $0 + $1.count })  // buffers that never meet share memory
    }
}
