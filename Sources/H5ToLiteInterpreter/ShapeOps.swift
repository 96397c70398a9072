import H5ToLiteIR

/// RESHAPE and identity: the data stays as it is, whatever its element type.
struct CopyKernel<Element>: Kernel {
    let count: Int

    @_specialize(where Element == Float)
    @_specialize(where Element == Int8)
    @_specialize(where Element == UInt8)
    func run(_ context: KernelContext) {
        context.output(as: Element.self).update(from: context.input(0, as: Element.self), count: count)
    }
}

/// CONCATENATION: each row before the axis takes every input's block in turn.
struct ConcatKernel: Kernel {
    let rows: Int
    /// Floats each input contributes per row.
    let blocks: [Int]
    let activation: FusedActivation
    let threads: Int

    func run(_ context: KernelContext) {
        let width = blocks.reduce(0, +)
        parallelFor(rows, threads: threads, grain: max(1, (1 << 14) / max(width, 1))) { _, range in
            for row in range {
                var target = context.output + row * width
                for (input, block) in zip(context.inputs, blocks) {
                    target.update(from: input + row * block, count: block)
                    target += block
                }
            }
        }
        applyActivation(activation, context.output, count: rows * width)
    }
}

/// PAD, TRANSPOSE and STRIDED_SLICE: the output is the input read through other
/// strides. PAD fills the output first (with zero, or a quantized tensor's zero
/// point) and writes the input inside it.
struct StridedCopyKernel<Element>: Kernel {
    /// Operands: target, source.
    let rows: StridedRows
    let targetStart: Int
    let sourceStart: Int
    /// The value PAD writes over the whole output before copying.
    let fill: Element?
    let outputCount: Int

    // Kernels run through `any Kernel`, where a generic body would move each element through
    // value witnesses; these are the element types activations have.
    @_specialize(where Element == Float)
    @_specialize(where Element == Int8)
    @_specialize(where Element == UInt8)
    func run(_ context: KernelContext) {
        let output = context.output(as: Element.self)
        let input = context.input(0, as: Element.self)
        if let fill { output.update(repeating: fill, count: outputCount) }
        let length = rows.rowLength
        let targetStep = rows.strides[0].last!
        let sourceStep = rows.strides[1].last!
        rows.forEach(0..<rows.rowCount) { offsets in
            let target = output + targetStart + offsets[0]
            let source = input + sourceStart + offsets[1]
            if targetStep == 1, sourceStep == 1 {
                target.update(from: source, count: length)
            } else {
                for i in 0..<length { target[i * targetStep] = source[i * sourceStep] }
            }
        }
    }

    static func pad(input: [Int], paddings: [[Int]], fill: Element) -> StridedCopyKernel {
        let output = zip(input, paddings).map { $0 + $1[0] + $1[1] }
        let outputStrides = rowMajorStrides(output)
        let shape = input.isEmpty ? [1] : input
        let rows = StridedRows(sizes: shape, strides: [input.isEmpty ? [1] : outputStrides, rowMajorStrides(shape)])
        let start = input.indices.reduce(0) { $0 + paddings[$1][0] * outputStrides[$1] }
        return StridedCopyKernel(rows: rows.collapsed(), targetStart: start, sourceStart: 0, fill: fill, outputCount: output.reduce(1, *))
    }

    static func transpose(input: [Int], perm: [Int]) -> StridedCopyKernel {
        let output = perm.map { input[$0] }
        let inputStrides = rowMajorStrides(input)
        let rows = StridedRows(sizes: output.isEmpty ? [1] : output,
                               strides: [rowMajorStrides(output.isEmpty ? [1] : output), output.isEmpty ? [1] : perm.map { inputStrides[$0] }])
        return StridedCopyKernel(rows: rows.collapsed(), targetStart: 0, sourceStart: 0, fill: nil, outputCount: 0)
    }

    static func slice(input: [Int], begin: [Int], strides: [Int], output: [Int]) -> StridedCopyKernel {
        let inputStrides = rowMajorStrides(input)
        let shape = output.isEmpty ? [1] : output
        let rows = StridedRows(sizes: shape, strides: [rowMajorStrides(shape), output.isEmpty ? [1] : input.indices.map { inputStrides[$0] * strides[$0] }])
        let start = input.indices.reduce(0) { $0 + begin[$1] * inputStrides[$1] }
        return StridedCopyKernel(rows: rows.collapsed(), targetStart: 0, sourceStart: start, fill: nil, outputCount: 0)
    }
}
