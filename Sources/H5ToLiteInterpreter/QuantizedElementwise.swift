import CKernels
import H5ToLiteCore
import H5ToLiteIR

/// ADD, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, GREATER and PRELU on int8 operands, broadcast as
/// the float kernels are, with TFLite's integer arithmetic.
struct QuantizedBinaryKernel: Kernel {
    enum Operation {
        /// ADD and SUB: both inputs rescaled to a shared scale 2^20 finer than
        /// twice the larger input scale, summed, then rescaled to the output.
        case add(QuantizedMultiplier, QuantizedMultiplier, output: QuantizedMultiplier, subtract: Bool)
        /// MUL: the product of the centred inputs times s1 * s2 / s_out.
        case mul(QuantizedMultiplier)
        /// MAXIMUM and MINIMUM compare raw values, as TFLite does.
        case maximum, minimum
        /// GREATER compares both inputs rescaled to a shared scale 2^8 finer
        /// than their own; the bool result holds 1 and 0 as floats.
        case greater(QuantizedMultiplier, QuantizedMultiplier)
        /// SQUARED_DIFFERENCE: both inputs rescaled to a shared scale 2^7 finer than twice
        /// the larger input scale; the squared difference rescaled to the output.
        case squaredDifference(QuantizedMultiplier, QuantizedMultiplier, output: QuantizedMultiplier)
        /// PRELU: a centred input x >= 0 times s_in / s_out, a negative one times its centred
        /// alpha and s_in * s_alpha / s_out.
        case prelu(positive: QuantizedMultiplier, negative: QuantizedMultiplier)
    }

    let operation: Operation
    let leftZeroPoint, rightZeroPoint, outputZeroPoint: Int32
    let bounds: ClosedRange<Int32>
    /// Operands: output, left, right.
    let rows: StridedRows
    let threads: Int
    /// ADD and SUB of two tensors of the output's shape run vectorized (h5t_qs8_add).
    private var sameShapeAdd: h5t_add?

    init(_ kind: OpKind, left: Value, right: Value, output: Value, threads: Int) throws {
        let l = AffineParameters(left.quantization!), r = AffineParameters(right.quantization!)
        let activation = kind.fusedActivation ?? .none
        switch kind {
        case .binary(let binary, _) where binary == .add || binary == .sub:
            let o = AffineParameters(output.quantization!)
            let twiceLarger = Double(2 * max(l.scale, r.scale))
            operation = .add(QuantizedMultiplier(Double(l.scale) / twiceLarger), QuantizedMultiplier(Double(r.scale) / twiceLarger),
                             output: QuantizedMultiplier(twiceLarger / Double(Float(1 << 20) * o.scale)),
                             subtract: binary == .sub)
        case .binary(.mul, _):
            // TFLite forms s1 * s2 / s_out in float before widening it.
            operation = .mul(QuantizedMultiplier(Double(l.scale * r.scale / AffineParameters(output.quantization!).scale)))
        case .binary(.squaredDifference, _):
            let twiceLarger = 2 * Double(max(l.scale, r.scale))
            operation = .squaredDifference(QuantizedMultiplier(Double(l.scale) / twiceLarger),
                                           QuantizedMultiplier(Double(r.scale) / twiceLarger),
                                           output: QuantizedMultiplier(twiceLarger * twiceLarger
                                               / Double(Float(1 << 14) * AffineParameters(output.quantization!).scale)))
        case .prelu:
            // TFLite forms both ratios in float before widening them.
            let o = AffineParameters(output.quantization!)
            operation = .prelu(positive: QuantizedMultiplier(Double(l.scale / o.scale)),
                               negative: QuantizedMultiplier(Double(l.scale * r.scale / o.scale)))
        case .binary(.maximum, _): operation = .maximum
        case .binary(.minimum, _): operation = .minimum
        case .greater: operation = .greater(QuantizedMultiplier(Double(l.scale)), QuantizedMultiplier(Double(r.scale)))
        default: throw H5ToLiteError("\(kind.name) is not supported on int8 operands")
        }
        leftZeroPoint = l.zeroPoint
        rightZeroPoint = r.zeroPoint
        if case .greater = kind {
            outputZeroPoint = 0
            bounds = 0...1
        } else {
            let o = AffineParameters(output.quantization!)
            outputZeroPoint = o.zeroPoint
            bounds = try activationBounds(activation, o, .int8)
        }
        let shape = output.shape.isEmpty ? [1] : output.shape
        rows = StridedRows(sizes: shape, strides: [
            rowMajorStrides(shape), broadcastStrides(left.shape, to: shape), broadcastStrides(right.shape, to: shape),
        ]).collapsed()
        self.threads = threads
        if case .add(let l, let r, let o, let subtract) = operation, left.shape == output.shape, right.shape == output.shape {
            sameShapeAdd = h5t_add(left_zero_point: leftZeroPoint, left_multiplier: l.significand, left_shift: Int32(l.shift),
                                   right_zero_point: rightZeroPoint, right_multiplier: r.significand, right_shift: Int32(r.shift),
                                   multiplier: o.significand, shift: Int32(o.shift), output_zero_point: outputZeroPoint,
                                   lo: bounds.lowerBound, hi: bounds.upperBound, subtract: subtract ? 1 : 0)
        }
    }

    func run(_ context: KernelContext) {
        guard let sameShapeAdd else { return dispatch(Runner(kernel: self, context: context)) }
        let count = rows.rowCount * rows.rowLength
        let left = context.input(0, as: Int8.self), right = context.input(1, as: Int8.self), output = context.output(as: Int8.self)
        withUnsafePointer(to: sameShapeAdd) { add in
            parallelFor(count, threads: threads, grain: 1 << 14) { _, range in
                h5t_qs8_add(add, range.count, left + range.lowerBound, right + range.lowerBound, output + range.lowerBound)
            }
        }
    }

    /// Calls `visitor` with the function computing this op's values, built
    /// here so that the loops it runs are compiled for that function.
    fileprivate func dispatch<Visitor: FunctionVisitor>(_ visitor: Visitor) {
        switch operation {
        case .add(let left, let right, let output, let subtract):
            // Each input's rescaling depends on its raw value alone: one table entry per value.
            let leftTable = rescalingTable(left, zeroPoint: leftZeroPoint, shift: 20)
            let rightTable = rescalingTable(right, zeroPoint: rightZeroPoint, shift: 20)
            leftTable.withUnsafeBufferPointer { leftTable in
                rightTable.withUnsafeBufferPointer { rightTable in
                    visitor.visit(AddFunction(left: leftTable.baseAddress!, right: rightTable.baseAddress!, output: output,
                                              subtract: subtract, outputZeroPoint: outputZeroPoint))
                }
            }
        case .squaredDifference(let left, let right, let output):
            let leftTable = rescalingTable(left, zeroPoint: leftZeroPoint, shift: 7)
            let rightTable = rescalingTable(right, zeroPoint: rightZeroPoint, shift: 7)
            leftTable.withUnsafeBufferPointer { leftTable in
                rightTable.withUnsafeBufferPointer { rightTable in
                    visitor.visit(SquaredDifferenceFunction(left: leftTable.baseAddress!, right: rightTable.baseAddress!,
                                                            output: output, outputZeroPoint: outputZeroPoint))
                }
            }
        case .mul(let multiplier):
            visitor.visit(MulFunction(multiplier: multiplier, leftZeroPoint: leftZeroPoint, rightZeroPoint: rightZeroPoint,
                                      outputZeroPoint: outputZeroPoint))
        case .prelu(let positive, let negative):
            visitor.visit(PreluFunction(positive: positive, negative: negative, inputZeroPoint: leftZeroPoint,
                                        alphaZeroPoint: rightZeroPoint, outputZeroPoint: outputZeroPoint))
        case .maximum: visitor.visit(MaximumFunction())
        case .minimum: visitor.visit(MinimumFunction())
        case .greater(let left, let right):
            visitor.visit(GreaterFunction(left: left, right: right, leftZeroPoint: leftZeroPoint, rightZeroPoint: rightZeroPoint))
        }
    }

    /// The op's clamped outputs for every int8 value x (columns) against each of
    /// `constants` (rows), the constant on the left or on the right.
    func table(against constants: [Int32], constantIsLeft: Bool) -> [Int8] {
        var table = [Int8](repeating: 0, count: constants.count * 256)
        table.withUnsafeMutableBufferPointer { table in
            dispatch(TableBuilder(constants: constants, constantIsLeft: constantIsLeft, bounds: bounds, table: table.baseAddress!))
        }
        return table
    }

    /// The elementwise loop, for one function.
    fileprivate func apply<Function: IntegerBinaryFunction>(_ context: KernelContext, _ function: Function) {
        let length = rows.rowLength
        let leftStep = rows.strides[1].last!, rightStep = rows.strides[2].last!
        let left = context.input(0, as: Int8.self), right = context.input(1, as: Int8.self)
        let (low, high) = (bounds.lowerBound, bounds.upperBound)
        parallelFor(rows.rowCount, threads: threads, grain: max(1, (1 << 14) / max(length, 1))) { _, range in
            rows.forEach(range) { offsets in
                let x = left + offsets[1], y = right + offsets[2]
                for i in 0..<length {
                    let value = function.apply(Int32(x[i * leftStep]), Int32(y[i * rightStep]))
                    Function.store(min(max(value, low), high), at: offsets[0] + i, context.output)
                }
            }
        }
    }
}

fileprivate protocol FunctionVisitor {
    func visit<Function: IntegerBinaryFunction>(_ function: Function)
}

private struct Runner: FunctionVisitor {
    let kernel: QuantizedBinaryKernel
    let context: KernelContext

    func visit<Function: IntegerBinaryFunction>(_ function: Function) {
        kernel.apply(context, function)
    }
}

private struct TableBuilder: FunctionVisitor {
    let constants: [Int32]
    let constantIsLeft: Bool
    let bounds: ClosedRange<Int32>
    let table: UnsafeMutablePointer<Int8>

    func visit<Function: IntegerBinaryFunction>(_ function: Function) {
        for (row, constant) in constants.enumerated() {
            for x in Int32(-128)...127 {
                let value = constantIsLeft ? function.apply(constant, x) : function.apply(x, constant)
                table[row * 256 + Int(x + 128)] = Int8(min(max(value, bounds.lowerBound), bounds.upperBound))
            }
        }
    }
}

/// A binary op whose other operand is an int8 constant varying at most along
/// the last axis (a BatchNormalization's scale or shift): each output is a
/// table entry, one table row of 256 values per constant value, built once
/// when the interpreter is.
struct ConstantOperandKernel: Kernel {
    let table: [Int8]
    /// Constant values along the last axis (1 for a scalar).
    let width: Int
    let count: Int
    /// Which input is not the constant.
    let variable: Int
    let threads: Int

    func run(_ context: KernelContext) {
        let input = context.input(variable, as: Int8.self), output = context.output(as: Int8.self)
        table.withUnsafeBufferPointer { table in
            parallelFor(count / width, threads: threads, grain: max(1, (1 << 14) / width)) { _, rows in
                for row in rows {
                    let start = row * width
                    for k in 0..<width {
                        output[start + k] = table[k * 256 + Int(input[start + k]) + 128]
                    }
                }
            }
        }
    }
}

/// An int8 MUL, ADD or SUB (of the constant) by a constant along the last axis, with the
/// arithmetic of `QuantizedBinaryKernel` computed on vectors (h5t_qs8_channel_ops); several in a
/// row (a BatchNormalization's MUL and ADD) run as one pass over the tensor.
struct ChannelOperationKernel: Kernel {
    struct Stage {
        let rescale: Bool
        let inputZeroPoint: Int32
        let inputMultiplier: QuantizedMultiplier
        let multiplier: QuantizedMultiplier
        let outputZeroPoint: Int32
        let bounds: ClosedRange<Int32>
    }

    let stages: [Stage]
    /// Per stage and channel: the constant less its zero point (MUL), or rescaled as ADD
    /// rescales it (negated for SUB).
    let constants: [Int32]
    let width: Int
    let count: Int
    /// Which input is not the constant.
    let variable: Int
    let threads: Int

    /// Nil for the ops and operand orders it does not compute.
    init?(_ kernel: QuantizedBinaryKernel, constants values: [Int8], constantIsLeft: Bool, count: Int, threads: Int) {
        let constantZeroPoint = constantIsLeft ? kernel.leftZeroPoint : kernel.rightZeroPoint
        let inputZeroPoint = constantIsLeft ? kernel.rightZeroPoint : kernel.leftZeroPoint
        let stage: Stage
        switch kernel.operation {
        case .mul(let multiplier):
            constants = values.map { Int32($0) - constantZeroPoint }
            stage = Stage(rescale: false, inputZeroPoint: inputZeroPoint, inputMultiplier: QuantizedMultiplier(significand: 0, shift: 0),
                          multiplier: multiplier, outputZeroPoint: kernel.outputZeroPoint, bounds: kernel.bounds)
        case .add(let left, let right, let output, let subtract):
            guard !(subtract && constantIsLeft) else { return nil }
            let constantMultiplier = constantIsLeft ? left : right
            constants = values.map { value in
                let rescaled = constantMultiplier.apply((Int32(value) &- constantZeroPoint) &<< 20)
                return subtract ? 0 &- rescaled : rescaled
            }
            stage = Stage(rescale: true, inputZeroPoint: inputZeroPoint, inputMultiplier: constantIsLeft ? right : left,
                          multiplier: output, outputZeroPoint: kernel.outputZeroPoint, bounds: kernel.bounds)
        default:
            return nil
        }
        stages = [stage]
        width = values.count
        self.count = count
        variable = constantIsLeft ? 1 : 0
        self.threads = threads
    }

    private init(stages: [Stage], constants: [Int32], width: Int, count: Int, variable: Int, threads: Int) {
        self.stages = stages
        self.constants = constants
        self.width = width
        self.count = count
        self.variable = variable
        self.threads = threads
    }

    /// This op and then `next`, which reads its output, as one kernel; nil if their constants
    /// vary along different lengths.
    func followed(by next: ChannelOperationKernel) -> ChannelOperationKernel? {
        guard next.width == width, next.count == count else { return nil }
        return ChannelOperationKernel(stages: stages + next.stages, constants: constants + next.constants, width: width,
                                      count: count, variable: variable, threads: threads)
    }

    func run(_ context: KernelContext) {
        let input = context.input(variable, as: Int8.self), output = context.output(as: Int8.self)
        constants.withUnsafeBufferPointer { constants in
            let operations = stages.enumerated().map { index, stage in
                h5t_channel_op(width: Int32(width), rescale: stage.rescale ? 1 : 0, constants: constants.baseAddress! + index * width,
                               input_zero_point: stage.inputZeroPoint, input_multiplier: stage.inputMultiplier.significand,
                               input_shift: Int32(stage.inputMultiplier.shift), multiplier: stage.multiplier.significand,
                               shift: Int32(stage.multiplier.shift), output_zero_point: stage.outputZeroPoint,
                               lo: stage.bounds.lowerBound, hi: stage.bounds.upperBound)
            }
            operations.withUnsafeBufferPointer { operations in
                parallelFor(count / width, threads: threads, grain: max(1, (1 << 14) / width)) { _, rows in
                    h5t_qs8_channel_ops(operations.baseAddress, Int32(operations.count), rows.count,
                                        input + rows.lowerBound * width, output + rows.lowerBound * width)
                }
            }
        }
    }
}

fileprivate protocol IntegerBinaryFunction {
    func apply(_ x: Int32, _ y: Int32) -> Int32
    static func store(_ value: Int32, at index: Int, _ output: UnsafeMutablePointer<Float>)
}

extension IntegerBinaryFunction {
    @inline(__always)
    static func store(_ value: Int32, at index: Int, _ output: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(output).assumingMemoryBound(to: Int8.self)[index] = Int8(truncatingIfNeeded: value)
    }
}

/// ADD, SUB (by 20 bits) and SQUARED_DIFFERENCE (by 7) rescale each centred input,
/// shifted left, to the shared scale; for int8 values that is a 256-entry table.
private func rescalingTable(_ multiplier: QuantizedMultiplier, zeroPoint: Int32, shift: Int32) -> [Int32] {
    (Int32(-128)...127).map { multiplier.apply(($0 &- zeroPoint) &<< shift) }
}

private struct SquaredDifferenceFunction: IntegerBinaryFunction {
    /// Rescaled inputs indexed by raw value + 128.
    let left, right: UnsafePointer<Int32>
    let output: QuantizedMultiplier
    let outputZeroPoint: Int32

    @inline(__always)
    func apply(_ x: Int32, _ y: Int32) -> Int32 {
        let difference = left[Int(x &+ 128)] &- right[Int(y &+ 128)]
        return output.apply(difference &* difference) &+ outputZeroPoint
    }
}

private struct AddFunction: IntegerBinaryFunction {
    /// Rescaled inputs indexed by raw value + 128.
    let left, right: UnsafePointer<Int32>
    let output: QuantizedMultiplier
    let subtract: Bool
    let outputZeroPoint: Int32

    @inline(__always)
    func apply(_ x: Int32, _ y: Int32) -> Int32 {
        let a = left[Int(x &+ 128)], b = right[Int(y &+ 128)]
        return output.apply(subtract ? a &- b : a &+ b) &+ outputZeroPoint
    }
}

private struct MulFunction: IntegerBinaryFunction {
    let multiplier: QuantizedMultiplier
    let leftZeroPoint, rightZeroPoint, outputZeroPoint: Int32

    @inline(__always)
    func apply(_ x: Int32, _ y: Int32) -> Int32 {
        multiplier.apply((x &- leftZeroPoint) &* (y &- rightZeroPoint)) &+ outputZeroPoint
    }
}

/// The right operand is alpha.
private struct PreluFunction: IntegerBinaryFunction {
    let positive, negative: QuantizedMultiplier
    let inputZeroPoint, alphaZeroPoint, outputZeroPoint: Int32

    @inline(__always)
    func apply(_ x: Int32, _ alpha: Int32) -> Int32 {
        let centred = x &- inputZeroPoint
        let scaled = centred >= 0 ? positive.apply(centred) : negative.apply(centred &* (alpha &- alphaZeroPoint))
        return scaled &+ outputZeroPoint
    }
}

private struct MaximumFunction: IntegerBinaryFunction {
    @inline(__always) func apply(_ x: Int32, _ y: Int32) -> Int32 { max(x, y) }
}

private struct MinimumFunction: IntegerBinaryFunction {
    @inline(__always) func apply(_ x: Int32, _ y: Int32) -> Int32 { min(x, y) }
}

/// The bool result holds 1 and 0 as floats.
private struct GreaterFunction: IntegerBinaryFunction {
    let left, right: QuantizedMultiplier
    let leftZeroPoint, rightZeroPoint: Int32

    @inline(__always)
    func apply(_ x: Int32, _ y: Int32) -> Int32 {
        left.apply((x &- leftZeroPoint) &<< 8) > right.apply((y &- rightZeroPoint) &<< 8) ? 1 : 0
    }

    @inline(__always)
    static func store(_ value: Int32, at index: Int, _ output: UnsafeMutablePointer<Float>) {
        output[index] = Float(value)
    }
}

/// QUANTIZE from float32 (AffineQuantize) or between 8-bit types (Requantize:
/// the centred value times s_in / s_out, plus the output zero point).
struct QuantizeKernel: Kernel {
    let count: Int
    let inputType: DType
    let outputType: DType
    let input: AffineParameters?
    let output: AffineParameters
    let multiplier: QuantizedMultiplier

    init(count: Int, input: Value, output: Value) {
        self.count = count
        inputType = input.dtype
        outputType = output.dtype
        let from = input.quantization.map(AffineParameters.init), to = AffineParameters(output.quantization!)
        self.input = from
        self.output = to
        multiplier = QuantizedMultiplier(from.map { Double($0.scale) / Double(to.scale) } ?? 1)
    }

    func run(_ context: KernelContext) {
        let range = integerRange(outputType)
        if inputType == .float32, outputType == .int8 {
            // The common case (a model's float input), without the per-element type switches.
            h5t_quantize_int8(count, context.inputs[0], Double(output.scale), output.zeroPoint, range.lowerBound, range.upperBound,
                              context.output(as: Int8.self))
            return
        }
        for i in 0..<count {
            let value: Int32
            switch inputType {
            case .float32: value = quantizeValue(context.inputs[0][i], output, range)
            case .uint8: value = requantize(Int32(context.input(0, as: UInt8.self)[i]), range)
            default: value = requantize(Int32(context.input(0, as: Int8.self)[i]), range)
            }
            storeInteger(value, at: i, outputType, context.output)
        }
    }

    @inline(__always)
    private func requantize(_ q: Int32, _ range: ClosedRange<Int32>) -> Int32 {
        min(max(multiplier.apply(q - input!.zeroPoint) &+ output.zeroPoint, range.lowerBound), range.upperBound)
    }
}

/// DEQUANTIZE of an 8-bit activation to float32.
struct DequantizeKernel: Kernel {
    let count: Int
    let inputType: DType
    let parameters: AffineParameters

    func run(_ context: KernelContext) {
        for i in 0..<count {
            context.output[i] = dequantizeValue(loadInteger(at: i, inputType, context.inputs[0]), parameters)
        }
    }
}

/// The raw value at `index` of an 8-bit buffer.
@inline(__always)
func loadInteger(at index: Int, _ dtype: DType, _ buffer: UnsafePointer<Float>) -> Int32 {
    dtype == .uint8 ? Int32(UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self)[index])
        : Int32(UnsafeRawPointer(buffer).assumingMemoryBound(to: Int8.self)[index])
}

/// Writes an in-range raw value at `index` of an 8-bit buffer.
@inline(__always)
func storeInteger(_ value: Int32, at index: Int, _ dtype: DType, _ buffer: UnsafeMutablePointer<Float>) {
    if dtype == .uint8 {
        UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self)[index] = UInt8(truncatingIfNeeded: value)
    } else {
        UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: Int8.self)[index] = Int8(truncatingIfNeeded: value)
    }
}
