import H5ToLiteIR

/// Two-operand elementwise ops with NumPy broadcasting: ADD, SUB, MUL, DIV,
/// MAXIMUM, MINIMUM (with a fused activation) and PRELU.
struct BinaryKernel: Kernel {
    enum Operation {
        case binary(BinaryKind)
        case prelu
        case greater
    }

    let operation: Operation
    let activation: FusedActivation
    /// Operands: output, left, right.
    let rows: StridedRows
    let threads: Int

    init(_ operation: Operation, activation: FusedActivation, left: [Int], right: [Int], output: [Int], threads: Int) {
        self.operation = operation
        self.activation = activation
        self.threads = threads
        let shape = output.isEmpty ? [1] : output
        rows = StridedRows(sizes: shape, strides: [
            rowMajorStrides(shape), broadcastStrides(left, to: shape), broadcastStrides(right, to: shape),
        ]).collapsed()
    }

    func run(_ context: KernelContext) {
        switch operation {
        case .binary(.add): apply(context, Add.self)
        case .binary(.sub): apply(context, Subtract.self)
        case .binary(.mul): apply(context, Multiply.self)
        case .binary(.div): apply(context, Divide.self)
        case .binary(.maximum): apply(context, Maximum.self)
        case .binary(.minimum): apply(context, Minimum.self)
        case .binary(.squaredDifference): apply(context, SquaredDifference.self)
        case .prelu: apply(context, PRelu.self)
        case .greater: apply(context, Greater.self)
        }
    }

    /// Generic over the function so each one compiles into its own vectorised loop.
    private func apply<Function: BinaryFunction>(_ context: KernelContext, _: Function.Type) {
        let length = rows.rowLength
        let leftStep = rows.strides[1].last!
        let rightStep = rows.strides[2].last!
        parallelFor(rows.rowCount, threads: threads, grain: max(1, (1 << 14) / max(length, 1))) { _, range in
            rows.forEach(range) { offsets in
                let out = context.output + offsets[0]
                let left = context.inputs[0] + offsets[1]
                let right = context.inputs[1] + offsets[2]
                switch (leftStep, rightStep) {
                case (1, 1): for i in 0..<length { out[i] = Function.apply(left[i], right[i]) }
                case (1, _): for i in 0..<length { out[i] = Function.apply(left[i], right[0]) }
                case (_, 1): for i in 0..<length { out[i] = Function.apply(left[0], right[i]) }
                default: for i in 0..<length { out[i] = Function.apply(left[0], right[0]) }
                }
                applyActivation(activation, out, count: length)
            }
        }
    }
}

private protocol BinaryFunction {
    static func apply(_ x: Float, _ y: Float) -> Float
}

private enum Add: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x + y } }
private enum Subtract: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x - y } }
private enum Multiply: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x * y } }
private enum Divide: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x / y } }
private enum Maximum: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { max(x, y) } }
private enum Minimum: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { min(x, y) } }
private enum SquaredDifference: BinaryFunction {
    static func apply(_ x: Float, _ y: Float) -> Float { (x - y) * (x - y) }
}
/// TFLite's PRELU: x >= 0 ? x : x * alpha.
private enum PRelu: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x >= 0 ? x : x * y } }
/// Bool tensors hold 1 and 0 as floats.
private enum Greater: BinaryFunction { static func apply(_ x: Float, _ y: Float) -> Float { x > y ? 1 : 0 } }

/// x * scale + shift with a fused activation, scale and shift broadcast: a
/// MUL and an ADD in one pass.
struct AffineKernel: Kernel {
    /// Operands: output, x, scale, shift.
    let rows: StridedRows
    let activation: FusedActivation
    let threads: Int

    init(input: [Int], scale: [Int], shift: [Int], activation: FusedActivation, threads: Int) {
        let shape = input.isEmpty ? [1] : input
        rows = StridedRows(sizes: shape, strides: [rowMajorStrides(shape), rowMajorStrides(shape),
                                                   broadcastStrides(scale, to: shape), broadcastStrides(shift, to: shape)]).collapsed()
        self.activation = activation
        self.threads = threads
    }

    func run(_ context: KernelContext) {
        let length = rows.rowLength
        let scaleStep = rows.strides[2].last!
        let shiftStep = rows.strides[3].last!
        parallelFor(rows.rowCount, threads: threads, grain: max(1, (1 << 14) / max(length, 1))) { _, range in
            rows.forEach(range) { offsets in
                let out = context.output + offsets[0]
                let x = context.inputs[0] + offsets[1]
                let scale = context.inputs[1] + offsets[2]
                let shift = context.inputs[2] + offsets[3]
                switch (scaleStep, shiftStep) {
                case (1, 1): for i in 0..<length { out[i] = x[i] * scale[i] + shift[i] }
                case (1, _): for i in 0..<length { out[i] = x[i] * scale[i] + shift[0] }
                case (_, 1): for i in 0..<length { out[i] = x[i] * scale[0] + shift[i] }
                default: for i in 0..<length { out[i] = x[i] * scale[0] + shift[0] }
                }
                applyActivation(activation, out, count: length)
            }
        }
    }
}

/// SELECT_V2: x where the condition (1 or 0) holds, else y, all three broadcast.
/// Quantized x and y are picked raw, as TFLite does.
struct SelectKernel<Element>: Kernel {
    /// Operands: output, condition, x, y.
    let rows: StridedRows

    init(condition: [Int], x: [Int], y: [Int], output: [Int]) {
        let shape = output.isEmpty ? [1] : output
        rows = StridedRows(sizes: shape, strides: [rowMajorStrides(shape)] + [condition, x, y].map { broadcastStrides($0, to: shape) })
            .collapsed()
    }

    func run(_ context: KernelContext) {
        let length = rows.rowLength
        let steps = rows.strides.map { $0.last! }
        let output = context.output(as: Element.self)
        rows.forEach(0..<rows.rowCount) { offsets in
            let out = output + offsets[0]
            let condition = context.inputs[0] + offsets[1]
            let x = context.input(1, as: Element.self) + offsets[2]
            let y = context.input(2, as: Element.self) + offsets[3]
            for i in 0..<length {
                out[i] = condition[i * steps[1]] != 0 ? x[i * steps[2]] : y[i * steps[3]]
            }
        }
    }
}

/// Strides that read a tensor of `shape` broadcast to `target`: zero along the
/// axes it repeats, including the leading axes it lacks.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let padded = Array(repeating: 1, count: target.count - shape.count) + shape
    let strides = rowMajorStrides(padded)
    return target.indices.map { padded[$0] == 1 && target[$0] != 1 ? 0 : strides[$0] }
}
