import Foundation
import H5ToLiteCore
import H5ToLiteIR
@testable import H5ToLiteInterpreter

/// An operand of a quantized test op: raw integers with their parameters.
/// The first operand is the graph input; the others are constants.
struct Operand {
    var shape: [Int]
    var values: [Int32]
    var quantization: Quantization
    var dtype: DType = .int8

    /// The real numbers the integers stand for, per slice of the axis.
    var reals: [Float] {
        let channels = quantization.scales.count
        let inner = channels > 1 ? shape[(quantization.axis + 1)...].reduce(1, *) : 1
        return values.enumerated().map { index, q in
            let c = channels > 1 ? (index / inner) % channels : 0
            return quantization.scales[c] * Float(q - Int32(quantization.zeroPoints[c]))
        }
    }

    var constant: ConstantData {
        dtype == .int32 ? .int32(values) : .int8(values.map { Int8($0) })
    }
}

func tensorQuantization(_ scale: Float, _ zeroPoint: Int) -> Quantization {
    Quantization(scale: scale, zeroPoint: zeroPoint)
}

/// Deterministic int8 values in `range`.
func pattern(_ count: Int, _ range: ClosedRange<Int32> = -128...127, seed: Int32 = 7) -> [Int32] {
    let width = range.upperBound - range.lowerBound + 1
    return (0..<Int32(count)).map { range.lowerBound + (($0 &* 73 &+ seed &* 31 &+ ($0 &* $0) % 11) % width + width) % width }
}

/// Runs `kind` on int8 operands (raw outputs), and the same op in float32 on
/// the real numbers they stand for, its outputs quantized with `output`.
func runBothWays(_ kind: OpKind, _ operands: [Operand], output: Quantization, outputType: DType = .int8) throws -> (integer: [Int32], float: [Int32]) {
    var integer = Graph(name: "integer")
    let x = integer.addInput(name: "x", shape: operands[0].shape, dtype: .int8)
    integer[x].quantization = operands[0].quantization
    let constants = operands.dropFirst().enumerated().map { index, operand in
        integer.addConstant(name: "c\(index)", shape: operand.shape, data: operand.constant, quantization: operand.quantization)
    }
    integer.outputs = [try integer.addOp(kind, inputs: [x] + constants, name: "y", origin: "test", dtype: outputType,
                                         quantization: outputType == .bool ? nil : output)]
    let input = Tensor(shape: operands[0].shape, data: operands[0].reals)
    let raw = try Interpreter(graph: integer, threads: 2).run([input], outputs: .raw)[0].data.map { Int32($0) }

    var float = Graph(name: "float")
    let y = float.addInput(name: "x", shape: operands[0].shape)
    let floatConstants = operands.dropFirst().map { operand in
        float.addConstant(name: "c\(float.values.count)", shape: operand.shape, data: .float32(operand.reals))
    }
    float.outputs = [try float.addOp(kind, inputs: [y] + floatConstants, name: "y", origin: "test")]
    let reals = try Interpreter(graph: float, threads: 2).run([input])[0].data
    guard outputType != .bool else { return (raw, reals.map { Int32($0) }) }
    let parameters = AffineParameters(output)
    return (raw, reals.map { quantizeValue($0, parameters, integerRange(outputType)) })
}

/// Largest difference between two integer arrays.
func largestStep(_ a: [Int32], _ b: [Int32]) -> Int32 {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
