import CKernels
import Foundation
import H5ToLiteIR
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// Each integer kernel on small inputs: exact values worked out by hand, and
/// agreement within one output step with the float kernel run on the real
/// numbers the integers stand for (they differ only where a value lies within
/// rounding of a half step).
@Suite struct QuantizedKernelTests {
    let activation = tensorQuantization(0.05, -10)

    @Test func convolutionRequantizesPerChannel() throws {
        // Input 5, 10, 15, 20 (scale 0.5); weights 0.64 and -0.64; biases 0.5 and -0.5.
        let input = Operand(shape: [1, 2, 2, 1], values: [10, 20, 30, 40], quantization: tensorQuantization(0.5, 0))
        let filter = Operand(shape: [2, 1, 1, 1], values: [64, -32], quantization: Quantization(scales: [0.01, 0.02], zeroPoints: [0, 0]))
        let bias = Operand(shape: [2], values: [100, -50], quantization: Quantization(scales: [0.005, 0.01], zeroPoints: [0, 0]), dtype: .int32)
        let output = tensorQuantization(0.1, 5)
        let plain = try runBothWays(.conv2d(Window(padding: .valid), .none), [input, filter, bias], output: output)
        // 740 * 0.05 = 37, -370 * 0.1 = -37, ...; 2660 * 0.05 = 133 saturates.
        #expect(plain.integer == [42, -32, 74, -64, 106, -96, 127, -128])
        #expect(plain.float == plain.integer)
        let relu = try runBothWays(.conv2d(Window(padding: .valid), .relu), [input, filter, bias], output: output)
        #expect(relu.integer == [42, 5, 74, 5, 106, 5, 127, 5])
    }

    @Test func convolutionPadsWithTheZeroPoint() throws {
        let input = Operand(shape: [1, 5, 5, 3], values: pattern(75), quantization: activation)
        let filter = Operand(shape: [4, 3, 3, 3], values: pattern(108, -127...127, seed: 3),
                             quantization: Quantization(scales: [0.01, 0.02, 0.015, 0.005], zeroPoints: [0, 0, 0, 0]))
        let bias = Operand(shape: [4], values: [100, -200, 0, 50],
                           quantization: Quantization(scales: [0.0005, 0.001, 0.00075, 0.00025], zeroPoints: [0, 0, 0, 0]), dtype: .int32)
        for window in [Window(padding: .same), Window(stride: [2, 2], padding: .same), Window(dilation: [2, 1], padding: .valid)] {
            let result = try runBothWays(.conv2d(window, .relu6), [input, filter, bias], output: tensorQuantization(0.08, -3))
            #expect(largestStep(result.integer, result.float) <= 1, "\(window)")
        }
    }

    @Test func depthwiseAndDenseLayers() throws {
        let input = Operand(shape: [1, 4, 4, 2], values: pattern(32), quantization: activation)
        let filter = Operand(shape: [1, 3, 3, 4], values: pattern(36, -127...127, seed: 5),
                             quantization: Quantization(scales: [0.02, 0.01, 0.03, 0.015], zeroPoints: [0, 0, 0, 0], axis: 3))
        let bias = Operand(shape: [4], values: [10, -20, 30, 0],
                           quantization: Quantization(scales: [0.001, 0.0005, 0.0015, 0.00075], zeroPoints: [0, 0, 0, 0]), dtype: .int32)
        let depthwise = try runBothWays(.depthwiseConv2d(Window(padding: .same), multiplier: 2, .relu), [input, filter, bias],
                                        output: tensorQuantization(0.03, -128))
        #expect(largestStep(depthwise.integer, depthwise.float) <= 1)

        let rows = Operand(shape: [3, 40], values: pattern(120), quantization: activation)
        let weights = Operand(shape: [5, 40], values: pattern(200, -127...127, seed: 9), quantization: tensorQuantization(0.01, 0))
        let biases = Operand(shape: [5], values: [1, 2, 3, -4, -5], quantization: tensorQuantization(0.0005, 0), dtype: .int32)
        let dense = try runBothWays(.fullyConnected(.none), [rows, weights, biases], output: tensorQuantization(0.1, 3))
        #expect(largestStep(dense.integer, dense.float) <= 1)
    }

    @Test func longSumsStayExact() {
        // 1000 products of 255 * 127, then 24 of 1 * 1: past 2^24, where a float sum would drop
        // the ones. Inputs 127 and -127 with zero point -128 are 255 and 1 once centred.
        let depth = 1024
        let x = [Int8](repeating: 127, count: 1000) + [Int8](repeating: -127, count: 24)
        let w = [Int16](repeating: 127, count: 1000) + [Int16](repeating: 1, count: 24)
        // Pairs everywhere, and quads where the processor has AVX-512 VNNI.
        for layout in [H5T_PAIRS, h5t_qs8_choose_layout(w, w.count)] {
            var packed = [UInt8](repeating: 0, count: h5t_qs8_packed_bytes(layout, 1, 1, Int32(depth)))
            h5t_qs8_pack(layout, 1, 1, Int32(depth), w, nil, -128, &packed)
            var staged = [UInt8](repeating: 0, count: h5t_qs8_staged_pixel_bytes(layout, Int32(depth)))
            h5t_qs8_stage(layout, 1, Int32(depth), x, -128, &staged)
            var sum: Int32 = 0
            h5t_qs8_igemm(layout, 1, 1, 1, Int32(depth), staged, nil, staged.count, staged, packed, nil, &sum, 1)
            #expect(sum == 32_385_024)
        }
    }

    @Test func addSubtractMultiplyBroadcast() throws {
        let x = Operand(shape: [1, 2, 3, 4], values: pattern(24), quantization: activation)
        let y = Operand(shape: [4], values: [-100, -3, 50, 127], quantization: tensorQuantization(0.02, 7))
        for kind in [OpKind.binary(.add, .none), .binary(.sub, .relu), .binary(.mul, .none), .binary(.add, .relu6)] {
            let result = try runBothWays(kind, [x, y], output: tensorQuantization(0.04, 2))
            #expect(largestStep(result.integer, result.float) <= 1, "\(kind.name)")
        }
        // 0.05 * (10 - -10) + 0.02 * (57 - 7) = 2 -> 2 / 0.04 + 2 = 52.
        let exact = try runBothWays(.binary(.add, .none),
                                    [Operand(shape: [1], values: [10], quantization: activation),
                                     Operand(shape: [1], values: [57], quantization: tensorQuantization(0.02, 7))],
                                    output: tensorQuantization(0.04, 2))
        #expect(exact.integer == [52])
    }

    @Test func comparisonsAndRawOps() throws {
        let x = Operand(shape: [1, 6], values: [-128, -20, -10, 0, 40, 127], quantization: activation)
        let y = Operand(shape: [1, 6], values: [0, 0, 0, 0, 0, 0], quantization: tensorQuantization(0.1, -5))
        // Real x: -5.9, -0.5, 0, 0.5, 2.5, 6.85; real y: 0.5 everywhere.
        let greater = try runBothWays(.greater, [x, y], output: activation, outputType: .bool)
        #expect(greater.integer == [0, 0, 0, 0, 1, 1])
        // MAXIMUM and MINIMUM compare raw values, as TFLite does.
        #expect(try runBothWays(.binary(.maximum, .none), [x, y], output: activation).integer == [0, 0, 0, 0, 40, 127])
        #expect(try runBothWays(.binary(.minimum, .none), [x, y], output: activation).integer == [-128, -20, -10, 0, 0, 0])
    }

    @Test func pools() throws {
        let input = Operand(shape: [1, 4, 4, 2], values: pattern(32), quantization: activation)
        for kind in [OpKind.averagePool(Window(size: [3, 3], stride: [2, 2], padding: .same), .none),
                     .maxPool(Window(size: [2, 2], stride: [2, 2], padding: .valid), .relu),
                     .mean(axes: [1, 2], keepDims: false)] {
            let result = try runBothWays(kind, [input], output: kind.name == "mean" ? tensorQuantization(0.02, 1) : activation)
            #expect(largestStep(result.integer, result.float) <= 1, "\(kind.name)")
        }
        // The average of 1 and 2 is 1.5, rounded away from zero; of -1 and -2, -1.5 -> -2.
        let halves = Operand(shape: [1, 1, 2, 2], values: [1, -1, 2, -2], quantization: tensorQuantization(1, 0))
        let average = try runBothWays(.averagePool(Window(size: [1, 2], stride: [1, 2], padding: .valid), .none), [halves],
                                      output: tensorQuantization(1, 0))
        #expect(average.integer == [2, -2])
    }

    @Test func activations() throws {
        let input = Operand(shape: [1, 256], values: (-128...127).map { $0 }, quantization: tensorQuantization(0.06, 3))
        let cases: [(OpKind, Quantization)] = [
            (.unary(.logistic), tensorQuantization(1.0 / 256, -128)),
            (.unary(.tanh), tensorQuantization(1.0 / 128, 0)),
            (.softmax(beta: 1), tensorQuantization(1.0 / 256, -128)),
            (.unary(.relu), tensorQuantization(0.04, -128)),
            (.unary(.relu6), tensorQuantization(6.0 / 255, -128)),
            (.unary(.reluN1To1), tensorQuantization(2.0 / 255, 0)),
            (.leakyRelu(alpha: 0.2), tensorQuantization(0.05, 20)),
            (.leakyRelu(alpha: -0.5), tensorQuantization(0.05, 20)),
            (.unary(.hardSwish), tensorQuantization(0.035, -100)),
        ]
        for (kind, output) in cases {
            let result = try runBothWays(kind, [input], output: output)
            #expect(largestStep(result.integer, result.float) <= 1, "\(kind.name)")
        }
    }

    @Test func shapeOpsMoveRawValues() throws {
        let input = Operand(shape: [1, 2, 3, 2], values: (0..<12).map { $0 - 6 }, quantization: activation)
        let transpose = try runBothWays(.transpose([0, 3, 1, 2]), [input], output: activation)
        #expect(transpose.integer == [-6, -4, -2, 0, 2, 4, -5, -3, -1, 1, 3, 5])
        let slice = try runBothWays(.stridedSlice(begin: [0, 1, 0, 1], end: [1, 2, 3, 2], strides: [1, 1, 2, 1]), [input], output: activation)
        #expect(slice.integer == [1, 5])
        #expect(try runBothWays(.reshape([1, 12]), [input], output: activation).integer == input.values)
        // PAD writes the zero point: real zero.
        let pad = try runBothWays(.pad([[0, 0], [0, 0], [1, 0], [0, 0]]), [Operand(shape: [1, 1, 1, 2], values: [4, 5], quantization: activation)],
                                  output: activation)
        #expect(pad.integer == [-10, -10, 4, 5])
    }

    @Test func resizes() throws {
        let input = Operand(shape: [1, 3, 3, 2], values: pattern(18), quantization: activation)
        for halfPixel in [false, true] {
            let bilinear = try runBothWays(.resize(.bilinear, size: [5, 7], alignCorners: false, halfPixelCenters: halfPixel),
                                           [input], output: activation)
            #expect(largestStep(bilinear.integer, bilinear.float) <= 1)
            let nearest = try runBothWays(.resize(.nearest, size: [6, 4], alignCorners: false, halfPixelCenters: halfPixel),
                                          [input], output: activation)
            #expect(nearest.integer == nearest.float)
        }
    }

    @Test func concatenationRequantizesDifferingInputs() throws {
        let first = Operand(shape: [1, 2], values: [10, -10], quantization: activation)
        let second = Operand(shape: [1, 2], values: [100, -100], quantization: tensorQuantization(0.1, 0))
        let result = try runBothWays(.concat(axis: 1, .none), [first, second], output: activation)
        // The first input is copied; 10 and -10 at scale 0.1 are 200 and -200 steps of 0.05: saturated.
        #expect(result.integer == [10, -10, 127, -128])
        let small = Operand(shape: [1, 2], values: [3, -3], quantization: tensorQuantization(0.1, 0))
        #expect(try runBothWays(.concat(axis: 1, .none), [first, small], output: activation).integer == [10, -10, -4, -16])
    }

    @Test func quantizeAndDequantize() throws {
        var graph = Graph(name: "round trip")
        let x = graph.addInput(name: "x", shape: [1, 5])
        let q = try graph.addOp(.quantize, inputs: [x], name: "q", origin: "test", dtype: .int8, quantization: tensorQuantization(0.5, -3))
        let u = try graph.addOp(.quantize, inputs: [q], name: "u", origin: "test", dtype: .uint8, quantization: tensorQuantization(0.25, 128))
        let r = try graph.addOp(.quantize, inputs: [u], name: "r", origin: "test", dtype: .int8, quantization: tensorQuantization(1, 0))
        graph.outputs = [try graph.addOp(.dequantize, inputs: [u], name: "d", origin: "test", dtype: .float32), q, u, r]
        let outputs = try Interpreter(graph: graph, threads: 1).run([Tensor(shape: [1, 5], data: [0.25, -0.25, 1.1, 100, -3])], outputs: .raw)
        #expect(outputs[1].data == [-2, -4, -1, 127, -9])   // x / 0.5 rounded half away, plus -3
        #expect(outputs[2].data == [130, 126, 132, 255, 116])  // twice the centred value, plus 128
        #expect(outputs[3].data == [1, -1, 1, 32, -3])    // half the centred uint8 value, halves away from zero
        #expect(outputs[0].data == [0.5, -0.5, 1, 31.75, -3])
    }

    @Test func dequantizedWeightsAreFoldedOnce() throws {
        // int8 weights, one scale per output channel, behind DEQUANTIZE; and float16 ones.
        var graph = Graph(name: "weights")
        let x = graph.addInput(name: "x", shape: [1, 1, 1, 2])
        let int8 = graph.addConstant(name: "w8", shape: [2, 1, 1, 2], data: .int8([10, -20, 30, 40]),
                                     quantization: Quantization(scales: [0.5, 0.25], zeroPoints: [0, 0]))
        let half = graph.addConstant(name: "w16", shape: [2], data: .float16([Float16(1.5).bitPattern, Float16(-2).bitPattern]))
        let weights = try graph.addOp(.dequantize, inputs: [int8], name: "w", origin: "test", dtype: .float32)
        let bias = try graph.addOp(.dequantize, inputs: [half], name: "b", origin: "test", dtype: .float32)
        graph.outputs = [try graph.op(.conv2d(Window(padding: .valid), .none), [x, weights, bias])]
        let output = try Interpreter(graph: graph, threads: 1).run([Tensor(shape: [1, 1, 1, 2], data: [1, 2])])[0]
        // Weights (5, -10) and (7.5, 10): 5 - 20 + 1.5 and 7.5 + 20 - 2.
        let expected: [Float] = [-13.5, 25.5]
        #expect(output.data == expected)
    }

    @Test func selectPicksRawValues() throws {
        var graph = Graph(name: "select")
        let x = graph.addInput(name: "x", shape: [1, 4], dtype: .int8)
        graph[x].quantization = activation
        let zero = graph.addConstant(name: "zero", shape: [1], data: .int8([-10]), quantization: activation)
        let positive = try graph.addOp(.greater, inputs: [x, zero], name: "p", origin: "test", dtype: .bool)
        graph.outputs = [try graph.addOp(.select, inputs: [positive, x, zero], name: "y", origin: "test", dtype: .int8, quantization: activation)]
        let output = try Interpreter(graph: graph, threads: 1).run([Tensor(shape: [1, 4], data: [-1, 0.5, 0, 2])], outputs: .raw)[0]
        #expect(output.data == [-10, 0, -10, 30])
    }

    @Test func refusesQuantizedGraphsItCannotRun() throws {
        var missing = Graph(name: "no parameters")
        let x = missing.addInput(name: "x", shape: [1, 2], dtype: .int8)
        missing.outputs = [try missing.addOp(.unary(.relu), inputs: [x], name: "y", origin: "test")]
        #expect(throws: H5ToLiteError.self) { try Interpreter(graph: missing) }

        var elu = Graph(name: "int8 elu")
        let y = elu.addInput(name: "y", shape: [1, 2], dtype: .int8)
        elu[y].quantization = activation
        elu.outputs = [try elu.addOp(.unary(.elu), inputs: [y], name: "z", origin: "test", quantization: activation)]
        #expect(throws: H5ToLiteError.self) { try Interpreter(graph: elu) }

        var mixed = Graph(name: "float conv with an int32 bias")
        let z = mixed.addInput(name: "z", shape: [1, 1, 1, 1])
        let filter = mixed.addConstant(name: "w", shape: [1, 1, 1, 1], data: .float32([1]))
        let bias = mixed.addConstant(name: "b", shape: [1], data: .int32([1]))
        mixed.outputs = [try mixed.addOp(.conv2d(Window(padding: .valid), .none), inputs: [z, filter, bias], name: "o", origin: "test")]
        #expect(throws: H5ToLiteError.self) { try Interpreter(graph: mixed) }
    }
}
