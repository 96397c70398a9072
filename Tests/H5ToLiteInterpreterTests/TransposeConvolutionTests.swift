import Foundation
import H5ToLiteCore
import H5ToLiteIR
import Testing
@testable import H5ToLiteInterpreter

/// TRANSPOSE_CONV against plain loops written from TFLite's reference kernels: each input
/// pixel scatters filter x value onto the output, the padding the forward convolution's.
@Suite struct TransposeConvolutionTests {
    /// (input shape, filter OHWI, output size, stride, padding)
    static let geometries: [([Int], [Int], [Int], [Int], Padding)] = [
        ([1, 3, 3, 2], [3, 3, 3, 2], [6, 6], [2, 2], .same),
        ([1, 4, 3, 3], [2, 2, 3, 3], [5, 7], [1, 2], .valid),
        ([1, 3, 3, 2], [2, 3, 3, 2], [5, 5], [2, 2], .same),    // odd output: Keras output_padding 0
        ([1, 2, 2, 1], [2, 4, 4, 1], [9, 9], [3, 3], .valid),   // output_padding 2
    ]

    @Test(arguments: 0..<geometries.count)
    func floatMatchesPlainLoops(_ index: Int) throws {
        let (inputShape, filterShape, size, stride, padding) = Self.geometries[index]
        let input = Tensor(shape: inputShape, data: (0..<inputShape.reduce(1, *)).map { Float(($0 * 7) % 11) - 5 })
        let filter = (0..<filterShape.reduce(1, *)).map { Float(($0 * 5) % 9) * 0.25 - 1 }
        let bias = (0..<filterShape[0]).map { Float($0) - 0.5 }
        let window = Window(stride: stride, padding: padding)
        let y = try evaluate(input) { g, x in
            try g.op(.transposeConv2d(window, outputSize: size, .relu6), [x, g.constant(filter, filterShape), g.constant(bias, [filterShape[0]])])
        }
        let sums = scatter(input.data.map(Double.init), inputShape, filter.map(Double.init), filterShape, size, stride)
        let expected = sums.enumerated().map { Float(min(max($1 + Double(bias[$0 % filterShape[0]]), 0), 6)) }
        #expect(y.shape == [1] + size + [filterShape[0]])
        #expect(largestError(y.data, expected) < 1e-5)
    }

    @Test(arguments: 0..<geometries.count)
    func int8FollowsTFLiteReferenceArithmetic(_ index: Int) throws {
        let (inputShape, filterShape, size, stride, padding) = Self.geometries[index]
        let channels = filterShape[0]
        let inputQ = tensorQuantization(0.05, 3)
        let weightScales = (0..<channels).map { 0.01 + Float($0) * 0.004 }
        let weights = Operand(shape: filterShape, values: pattern(filterShape.reduce(1, *), -127...127, seed: 3),
                              quantization: Quantization(scales: weightScales, zeroPoints: Array(repeating: 0, count: channels), axis: 0))
        let biasValues = (0..<Int32(channels)).map { $0 * 37 - 50 }
        let bias = Operand(shape: [channels], values: biasValues,
                           quantization: Quantization(scales: weightScales.map { $0 * 0.05 }, zeroPoints: Array(repeating: 0, count: channels), axis: 0),
                           dtype: .int32)
        let input = Operand(shape: inputShape, values: pattern(inputShape.reduce(1, *)), quantization: inputQ)
        let output = tensorQuantization(0.07, -4)
        let kind = OpKind.transposeConv2d(Window(stride: stride, padding: padding), outputSize: size, .relu)
        let result = try runBothWays(kind, [input, weights, bias], output: output)

        // TFLite's reference_integer_ops::TransposeConv, written out.
        let sums = scatter(input.values.map { Double($0 - 3) }, inputShape, weights.values.map(Double.init), filterShape, size, stride)
        let expected: [Int32] = sums.enumerated().map { position, sum in
            let c = position % channels
            let multiplier = QuantizedMultiplier(Double(Float(0.05)) * Double(weightScales[c]) / Double(Float(0.07)))
            let value = multiplier.apply(Int32(sum) + biasValues[c]) - 4
            return min(max(value, -4), 127)  // relu: real zero is the zero point
        }
        #expect(result.integer == expected)
        #expect(largestStep(result.integer, result.float) <= 1)
    }

    /// Σ input x filter scattered onto the output (NHWC, batch 1, OHWI filter), padding as
    /// TFLite computes it for TRANSPOSE_CONV.
    private func scatter(_ input: [Double], _ inputShape: [Int], _ filter: [Double], _ filterShape: [Int],
                         _ size: [Int], _ stride: [Int]) -> [Double] {
        let (h, w, ci) = (inputShape[1], inputShape[2], inputShape[3])
        let (co, kh, kw) = (filterShape[0], filterShape[1], filterShape[2])
        let padTop = max(((h - 1) * stride[0] + kh - size[0]), 0) / 2
        let padLeft = max(((w - 1) * stride[1] + kw - size[1]), 0) / 2
        var out = [Double](repeating: 0, count: size[0] * size[1] * co)
        for y in 0..<h {
            for x in 0..<w {
                for fy in 0..<kh {
                    for fx in 0..<kw {
                        let oy = y * stride[0] - padTop + fy, ox = x * stride[1] - padLeft + fx
                        guard oy >= 0, oy < size[0], ox >= 0, ox < size[1] else { continue }
                        for o in 0..<co {
                            for i in 0..<ci {
                                out[(oy * size[1] + ox) * co + o] += input[(y * w + x) * ci + i] * filter[((o * kh + fy) * kw + fx) * ci + i]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
