import Foundation
import H5ToLiteCore
import H5ToLiteIR
import Testing
@testable import H5ToLiteInterpreter

/// The kernels a transformer block needs, against values worked out by hand or by plain loops.
@Suite struct TransformerKernelTests {
    /// Every combination of transposed operands against a plain triple loop.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func batchMatMulMatchesPlainLoops(adjointX: Bool, adjointY: Bool) throws {
        let (batches, m, k, n) = (3, 2, 4, 5)
        let x = iota(adjointX ? [1, batches, k, m] : [1, batches, m, k])
        let yValues = (0..<(batches * k * n)).map { Float(($0 * 7) % 11) - 5 }
        let y = try evaluate(x) { g, input in
            try g.op(.batchMatMul(adjointX: adjointX, adjointY: adjointY),
                     [input, g.constant(yValues, adjointY ? [1, batches, n, k] : [1, batches, k, n])])
        }
        #expect(y.shape == [1, batches, m, n])
        for b in 0..<batches {
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k {
                        let a = x.data[b * m * k + (adjointX ? p * m + i : i * k + p)]
                        let c = yValues[b * k * n + (adjointY ? j * k + p : p * n + j)]
                        sum += a * c
                    }
                    #expect(y.data[(b * m + i) * n + j] == sum)
                }
            }
        }
    }

    @Test func geluRsqrtAndSquaredDifference() throws {
        let input = Tensor(shape: [1, 4], data: [-1, 0.25, 1, 4])
        let gelu = try evaluate(input) { g, x in try g.op(.unary(.gelu), [x]) }
        // x * Phi(x): Phi(-1) = 0.158655, Phi(0.25) = 0.598706, Phi(1) = 0.841345, Phi(4) = 0.999968.
        let expected: [Float] = [-0.158655, 0.149677, 0.841345, 3.999873]
        #expect(largestError(gelu.data, expected) < 1e-5)
        let approximate = try evaluate(input) { g, x in try g.op(.unary(.approximateGelu), [x]) }
        #expect(largestError(approximate.data, expected) < 1e-3 && approximate.data != gelu.data)
        let rsqrt = try evaluate(Tensor(shape: [1, 3], data: [0.25, 1, 16])) { g, x in try g.op(.unary(.rsqrt), [x]) }
        #expect(rsqrt.data == [2, 1, 0.25])
        let squares = try evaluate(input) { g, x in try g.op(.binary(.squaredDifference, .none), [x, g.constant([1], [1])]) }
        #expect(squares.data == [4, 0.5625, 0, 9])
    }
}
