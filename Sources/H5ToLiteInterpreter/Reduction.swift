/// How a reduction over `axes` walks an input of `shape`: the input and output offsets (the
/// output's strides zero along reduced axes), the output's size and the elements per output.
/// Shared by the float and the integer kernels.
func reductionLayout(_ shape: [Int], axes: [Int]) -> (rows: StridedRows, outputCount: Int, reducedCount: Int) {
    let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
    let keptStrides = rowMajorStrides(kept)
    let sizes = shape.isEmpty ? [1] : shape
    let outputStrides = shape.isEmpty ? [1] : shape.indices.map { axes.contains($0) ? 0 : keptStrides[$0] }
    let rows = StridedRows(sizes: sizes, strides: [rowMajorStrides(sizes), outputStrides]).collapsed()
    return (rows, kept.reduce(1, *), axes.reduce(1) { $0 * shape[$1] })
}

/// MEAN and REDUCE_MAX over any set of axes: the input is walked in order and
/// each element folded into the output element it reduces to.
struct ReduceKernel: Kernel {
    let isMax: Bool
    /// Operands: input, output (whose strides are zero along reduced axes).
    let rows: StridedRows
    let outputCount: Int
    let reducedCount: Int

    init(isMax: Bool, input: [Int], axes: [Int]) {
        self.isMax = isMax
        (rows, outputCount, reducedCount) = reductionLayout(input, axes: axes)
    }

    func run(_ context: KernelContext) {
        let output = context.output
        // TFLite starts a maximum from the lowest finite float.
        output.update(repeating: isMax ? -Float.greatestFiniteMagnitude : 0, count: outputCount)
        let length = rows.rowLength
        let outputStep = rows.strides[1].last!
        rows.forEach(0..<rows.rowCount) { offsets in
            let source = context.inputs[0] + offsets[0]
            let target = output + offsets[1]
            if outputStep == 0 {
                var total = target[0]
                for i in 0..<length { total = isMax ? max(total, source[i]) : total + source[i] }
                target[0] = total
            } else if isMax {
                for i in 0..<length { target[i] = max(target[i], source[i]) }
            } else {
                for i in 0..<length { target[i] += source[i] }
            }
        }
        if !isMax {
            let count = Float(reducedCount)
            for i in 0..<outputCount { output[i] /= count }
        }
    }
}
