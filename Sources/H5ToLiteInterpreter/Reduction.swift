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
        let kept = input.indices.map { axes.contains($0) ? 1 : input[$0] }
        let keptStrides = rowMajorStrides(kept)
        let shape = input.isEmpty ? [1] : input
        let outputStrides = input.isEmpty ? [1] : input.indices.map { axes.contains($0) ? 0 : keptStrides[$0] }
        rows = StridedRows(sizes: shape, strides: [rowMajorStrides(shape), outputStrides]).collapsed()
        outputCount = kept.reduce(1, *)
        reducedCount = axes.reduce(1) { $0 * input[$1] }
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
