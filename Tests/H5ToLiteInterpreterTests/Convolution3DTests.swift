import Foundation
import H5ToLiteCore
import H5ToLiteIR
import Testing
@testable import H5ToLiteInterpreter

/// CONV_3D against plain loops written from TFLite's reference kernel (reference_ops::Conv3D):
/// each output voxel sums input x DHWIO filter over the window, padding before each axis as
/// ComputePadding3DValues puts it.
@Suite struct Convolution3DTests {
    /// (input NDHWC, filter DHWIO, stride, dilation, padding, bias, activation)
    static let geometries: [([Int], [Int], [Int], [Int], Padding, Bool, FusedActivation)] = [
        ([1, 4, 5, 6, 2], [3, 3, 3, 2, 4], [1, 1, 1], [1, 1, 1], .same, true, .relu),
        ([1, 5, 6, 7, 3], [3, 2, 1, 3, 2], [2, 1, 2], [1, 1, 1], .valid, false, .none),
        ([1, 6, 7, 5, 2], [3, 3, 3, 2, 3], [1, 1, 1], [1, 2, 2], .same, true, .relu6),
        ([1, 4, 4, 4, 3], [1, 1, 1, 3, 5], [1, 1, 1], [1, 1, 1], .valid, true, .none),  // no patches needed
        ([2, 3, 5, 4, 2], [2, 3, 2, 2, 3], [1, 2, 1], [1, 1, 1], .same, false, .reluN1To1),  // two volumes
        ([1, 7, 9, 8, 1], [2, 3, 3, 1, 40], [2, 2, 3], [2, 1, 1], .same, true, .none),  // odd padding
    ]

    @Test(arguments: 0..<geometries.count)
    func floatMatchesPlainLoops(_ index: Int) throws {
        let (inputShape, filterShape, stride, dilation, padding, hasBias, activation) = Self.geometries[index]
        let input = Tensor(shape: inputShape, data: (0..<inputShape.reduce(1, *)).map { Float(($0 * 7) % 11) - 5 })
        let filter = (0..<filterShape.reduce(1, *)).map { Float(($0 * 5) % 9) * 0.25 - 1 }
        let bias = (0..<filterShape[4]).map { Float($0) * 0.75 - 1.5 }
        let window = Window(stride: stride, dilation: dilation, padding: padding)
        let y = try evaluate(input) { g, x in
            try g.op(.conv3d(window, activation), [x, g.constant(filter, filterShape)] + (hasBias ? [g.constant(bias, [filterShape[4]])] : []))
        }
        let (sums, outputShape) = convolve(input.data.map(Double.init), inputShape, filter.map(Double.init), filterShape,
                                           stride, dilation, padding)
        let (lower, upper) = bounds(activation)
        var expected: [Float] = []
        for (position, sum) in sums.enumerated() {
            let biased: Double = sum + (hasBias ? Double(bias[position % filterShape[4]]) : 0)
            expected.append(Float(min(max(biased, lower), upper)))
        }
        #expect(y.shape == outputShape)
        #expect(largestError(y.data, expected) < 1e-5)
    }

    /// TFLite's CONV_3D kernel runs float32 only; a file with int8 CONV_3D weights is refused by name.
    @Test func int8WeightsAreRefused() throws {
        var graph = Graph(name: "t")
        let x = graph.addInput(name: "x", shape: [1, 2, 2, 2, 1])
        let filter = graph.addConstant(name: "k", shape: [1, 1, 1, 1, 2], data: .int8([3, -5]),
                                       quantization: Quantization(scales: [0.1, 0.2], zeroPoints: [0, 0], axis: 4))
        graph.outputs = [try graph.addOp(.conv3d(Window(stride: [1, 1, 1], dilation: [1, 1, 1], padding: .valid), .none),
                                         inputs: [x, filter], name: "conv", origin: "conv")]
        #expect {
            try Interpreter(graph: graph)
        } throws: { error in
            "\(error)".contains("conv3d from conv is not supported with int8 weights")
        }
    }

    /// The clamp TFLite applies for a fused activation.
    private func bounds(_ activation: FusedActivation) -> (Double, Double) {
        switch activation {
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        case .reluN1To1: return (-1, 1)
        default: return (-.infinity, .infinity)
        }
    }

    /// Σ input x filter per output voxel (NDHWC input, DHWIO filter), and the output shape.
    private func convolve(_ input: [Double], _ inputShape: [Int], _ filter: [Double], _ filterShape: [Int],
                          _ stride: [Int], _ dilation: [Int], _ padding: Padding) -> ([Double], [Int]) {
        let size = Array(inputShape[1...3]), kernel = Array(filterShape[0...2])
        let (channels, outputs) = (inputShape[4], filterShape[4])
        var out: [Int] = [], before: [Int] = []
        for axis in 0..<3 {
            let effective: Int = (kernel[axis] - 1) * dilation[axis] + 1
            let count: Int = padding == .same ? (size[axis] + stride[axis] - 1) / stride[axis]
                : (size[axis] - effective) / stride[axis] + 1
            let needed: Int = (count - 1) * stride[axis] + effective - size[axis]
            out.append(count)
            before.append(max(needed, 0) / 2)
        }
        var result: [Double] = []
        for n in 0..<inputShape[0] {
            for z in 0..<out[0] {
                for y in 0..<out[1] {
                    for x in 0..<out[2] {
                        for o in 0..<outputs {
                            var sum = 0.0
                            for kz in 0..<kernel[0] {
                                for ky in 0..<kernel[1] {
                                    for kx in 0..<kernel[2] {
                                        let at: [Int] = [z, y, x], tap: [Int] = [kz, ky, kx]
                                        var position: [Int] = []
                                        for axis in 0..<3 {
                                            let origin: Int = at[axis] * stride[axis] - before[axis]
                                            position.append(origin + tap[axis] * dilation[axis])
                                        }
                                        guard (0..<3).allSatisfy({ position[$0] >= 0 && position[$0] < size[$0] }) else { continue }
                                        let voxel: Int = ((n * size[0] + position[0]) * size[1] + position[1]) * size[2] + position[2]
                                        let weight: Int = (kz * kernel[1] + ky) * kernel[2] + kx
                                        for c in 0..<channels {
                                            sum += input[voxel * channels + c] * filter[(weight * channels + c) * outputs + o]
                                        }
                                    }
                                }
                            }
                            result.append(sum)
                        }
                    }
                }
            }
        }
        return (result, [inputShape[0]] + out + [outputs])
    }
}
