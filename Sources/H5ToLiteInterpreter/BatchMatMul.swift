import COpenBLAS
import H5ToLiteIR

/// BATCH_MATMUL in float: one matrix product per batch index, each operand transposed in
/// its last two axes when its flag says so.
struct BatchMatMulKernel: Kernel {
    let batches: Int
    let m: Int, k: Int, n: Int
    let adjointX: Bool, adjointY: Bool

    init(x: [Int], output: [Int], adjointX: Bool, adjointY: Bool) {
        batches = elementCount(Array(output.dropLast(2)))
        m = output[output.count - 2]
        n = output[output.count - 1]
        k = adjointX ? x[x.count - 2] : x[x.count - 1]
        self.adjointX = adjointX
        self.adjointY = adjointY
    }

    func run(_ context: KernelContext) {
        for batch in 0..<batches {
            cblas_sgemm(CblasRowMajor, adjointX ? CblasTrans : CblasNoTrans, adjointY ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), 1,
                        context.inputs[0] + batch * m * k, Int32(adjointX ? m : k),
                        context.inputs[1] + batch * k * n, Int32(adjointY ? k : n),
                        0, context.output + batch * m * n, Int32(n))
        }
    }
}

/// BATCH_MATMUL on int8 as TFLite's reference kernel computes it: per output element the
/// product of the centred operands summed in int32, requantized by s_x * s_y / s_out with
/// MultiplyByQuantizedMultiplier (two roundings, ties away from zero), clamped to int8.
struct IntegerBatchMatMulKernel: Kernel {
    let shape: BatchMatMulKernel
    let xZeroPoint, yZeroPoint, outputZeroPoint: Int32
    let multiplier: QuantizedMultiplier

    init(x: Value, y: Value, output: Value, adjointX: Bool, adjointY: Bool) {
        shape = BatchMatMulKernel(x: x.shape, output: output.shape, adjointX: adjointX, adjointY: adjointY)
        let (l, r, o) = (AffineParameters(x.quantization!), AffineParameters(y.quantization!), AffineParameters(output.quantization!))
        xZeroPoint = l.zeroPoint
        yZeroPoint = r.zeroPoint
        outputZeroPoint = o.zeroPoint
        multiplier = QuantizedMultiplier(Double(l.scale * r.scale) / Double(o.scale))
    }

    func run(_ context: KernelContext) {
        let x = context.input(0, as: Int8.self), y = context.input(1, as: Int8.self), output = context.output(as: Int8.self)
        let (m, k, n) = (shape.m, shape.k, shape.n)
        for batch in 0..<shape.batches {
            let left = x + batch * m * k, right = y + batch * k * n, result = output + batch * m * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Int32 = 0
                    for p in 0..<k {
                        let a = Int32(left[shape.adjointX ? p * m + i : i * k + p]) - xZeroPoint
                        let b = Int32(right[shape.adjointY ? j * k + p : p * n + j]) - yZeroPoint
                        sum &+= a * b
                    }
                    result[i * n + j] = Int8(clamping: multiplier.apply(sum) &+ outputZeroPoint)
                }
            }
        }
    }
}
