import H5ToLiteIR

/// ADD, SUB, MUL, MAXIMUM, MINIMUM and GREATER on int8 operands, broadcast as
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
    }

    let operation: Operation
    let leftZeroPoint, rightZeroPoint, outputZeroPoint: Int32
    let bounds: ClosedRange<Int32>
    /// Operands: output, left, right.
    let rows: StridedRows
    let threads: Int

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
        case .binary(.maximum, _): operation = .maximum
        case .binary(.minimum, _): operation = .minimum
        case .greater: operation = .greater(QuantizedMultiplier(Double(l.scale)), QuantizedMultiplier(Double(r.scale)))
        default: throw InterpreterError("\(kind.name) is not supported on int8 operands")
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
    }

    func run(_ context: KernelContext) {
        let length = rows.rowLength
        let leftStep = rows.strides[1].last!, rightStep = rows.strides[2].last!
        let left = context.input(0, as: Int8.self), right = context.input(1, as: Int8.self)
        parallelFor(rows.rowCount, threads: threads, grain: max(1, (1 << 14) / max(length, 1))) { _, range in
            rows.forEach(range) { offsets in
                for i in 0..<length {
                    let x = Int32(left[offsets[1] + i * leftStep]), y = Int32(right[offsets[2] + i * rightStep])
                    store(combine(x, y), at: offsets[0] + i, context)
                }
            }
        }
    }

    @inline(__always)
    private func store(_ value: Int32, at index: Int, _ context: KernelContext) {
        if case .greater = operation {
            context.output[index] = Float(value)
        } else {
            context.output(as: Int8.self)[index] = Int8(truncatingIfNeeded: min(max(value, bounds.lowerBound), bounds.upperBound))
        }
    }

    @inline(__always)
    private func combine(_ x: Int32, _ y: Int32) -> Int32 {
        switch operation {
        case .add(let leftMultiplier, let rightMultiplier, let outputMultiplier, let subtract):
            let a = leftMultiplier.apply((x - leftZeroPoint) << 20)
            let b = rightMultiplier.apply((y - rightZeroPoint) << 20)
            return outputMultiplier.apply(subtract ? a &- b : a &+ b) &+ outputZeroPoint
        case .mul(let multiplier):
            return multiplier.apply((x - leftZeroPoint) * (y - rightZeroPoint)) &+ outputZeroPoint
        case .maximum:
            return max(x, y)
        case .minimum:
            return min(x, y)
        case .greater(let leftMultiplier, let rightMultiplier):
            return leftMultiplier.apply((x - leftZeroPoint) << 8) > rightMultiplier.apply((y - rightZeroPoint) << 8) ? 1 : 0
        }
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
