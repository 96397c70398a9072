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
