import CKernels
import H5ToLiteIR

/// MAX_POOL_2D and AVERAGE_POOL_2D on int8: raw values (input and output share
/// their parameters), the average rounded half away from zero over the input
/// pixels under the clipped window, then the activation's bounds.
struct IntegerPoolKernel: Kernel {
    let geometry: WindowGeometry
    let isMax: Bool
    let bounds: ClosedRange<Int32>
    let threads: Int

    /// Per chunk of rows: one pixel's int32 sums (or maxima).
    var scratchCount: Int { chunkCount(geometry.outputHeight, threads: threads) * geometry.inputChannels }

    func run(_ context: KernelContext) {
        let g = geometry
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        withUnsafePointer(to: poolShape(g, isMax: isMax)) { shape in
            parallelFor(g.outputHeight, threads: threads) { chunk, range in
                let totals = context.scratch(as: Int32.self, count: scratchCount) + chunk * g.inputChannels
                h5t_qs8_pool(shape, Int32(range.lowerBound), Int32(range.count), input,
                             output + range.lowerBound * g.outputWidth * g.inputChannels, totals, bounds.lowerBound, bounds.upperBound)
            }
        }
    }
}

/// MEAN on int8 (TFLite's reference QuantizedMeanOrSum): the raw sum, less the
/// input zero point per element, times s_in / (s_out * n), plus the output zero
/// point. REDUCE_MAX takes the raw maximum.
struct IntegerReduceKernel: Kernel {
    let isMax: Bool
    /// Operands: input, output (whose strides are zero along reduced axes).
    let rows: StridedRows
    let outputCount: Int
    let reducedCount: Int
    let inputZeroPoint: Int32
    let outputZeroPoint: Int32
    let multiplier: QuantizedMultiplier

    init(isMax: Bool, input: Value, output: Value, axes: [Int]) {
        self.isMax = isMax
        (rows, outputCount, reducedCount) = reductionLayout(input.shape, axes: axes)
        let i = AffineParameters(input.quantization!), o = AffineParameters(output.quantization!)
        inputZeroPoint = i.zeroPoint
        outputZeroPoint = o.zeroPoint
        multiplier = meanMultiplier(QuantizedMultiplier(Double(i.scale) / Double(o.scale)), count: reducedCount)
    }

    var scratchCount: Int { outputCount }

    func run(_ context: KernelContext) {
        let totals = context.scratch(as: Int32.self, count: outputCount)
        totals.update(repeating: isMax ? -128 : 0, count: outputCount)
        let input = context.input(0, as: Int8.self)
        rows.forEach(0..<rows.rowCount) { offsets in
            let step = rows.strides[1].last!
            for i in 0..<rows.rowLength {
                let value = Int32(input[offsets[0] + i])
                let target = offsets[1] + i * step
                totals[target] = isMax ? max(totals[target], value) : totals[target] &+ value
            }
        }
        let output = context.output(as: Int8.self)
        for i in 0..<outputCount {
            let value = isMax ? totals[i]
                : multiplier.apply(totals[i] &- inputZeroPoint &* Int32(reducedCount)) &+ outputZeroPoint
            output[i] = Int8(min(max(value, -128), 127))
        }
    }
}

/// The reference kernel folds 1/n into the multiplier: the significand scaled
/// up by 2^floor(log2 n) (at most 2^32, and no further than the shift allows)
/// and divided by n, the shift lowered to match.
func meanMultiplier(_ base: QuantizedMultiplier, count: Int) -> QuantizedMultiplier {
    guard count > 0 else { return base }
    let shift = min(63 - UInt64(count).leadingZeroBitCount, 32, 31 + base.shift)
    let significand = (Int64(base.significand) << shift) / Int64(count)
    return QuantizedMultiplier(significand: Int32(truncatingIfNeeded: significand), shift: base.shift - shift)
}

/// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR on 8-bit values. Bilinear uses
/// TFLite's integer reference: source positions in 1/1024ths and the four
/// weighted neighbours summed in 2^20ths, rounded half away from zero.
struct IntegerResizeKernel: Kernel {
    let isBilinear: Bool
    /// Per output row and column: lower and upper source index and, for
    /// bilinear, the position in 1/1024ths.
    let rows: [(lower: Int, upper: Int, position: Int64)]
    let columns: [(lower: Int, upper: Int, position: Int64)]
    let inputWidth: Int
    let channels: Int

    init(mode: ResizeMode, input: [Int], size: [Int], alignCorners: Bool, halfPixelCenters: Bool) {
        isBilinear = mode == .bilinear
        inputWidth = input[2]
        channels = input[3]
        if mode == .bilinear {
            rows = integerSamples(input[1], size[0], alignCorners, halfPixelCenters)
            columns = integerSamples(input[2], size[1], alignCorners, halfPixelCenters)
        } else {
            // Nearest neighbour copies raw values from the float kernel's choice of source.
            let kernel = ResizeKernel(mode: .nearest, input: input, size: size, alignCorners: alignCorners,
                                      halfPixelCenters: halfPixelCenters, threads: 1)
            rows = kernel.rows.map { ($0.lower, $0.lower, 0) }
            columns = kernel.columns.map { ($0.lower, $0.lower, 0) }
        }
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        var target = output
        for row in rows {
            for column in columns {
                for c in 0..<channels {
                    target[c] = isBilinear ? interpolate(input, row, column, c)
                        : input[(row.lower * inputWidth + column.lower) * channels + c]
                }
                target += channels
            }
        }
    }

    private func interpolate(_ input: UnsafePointer<Int8>, _ row: (lower: Int, upper: Int, position: Int64),
                             _ column: (lower: Int, upper: Int, position: Int64), _ c: Int) -> Int8 {
        func at(_ y: Int, _ x: Int) -> Int64 { Int64(input[(y * inputWidth + x) * channels + c]) }
        let dy = row.position - 1024 * Int64(row.lower), dx = column.position - 1024 * Int64(column.lower)
        let total = at(row.lower, column.lower) * (1024 - dy) * (1024 - dx) + at(row.upper, column.lower) * dy * (1024 - dx)
            + at(row.lower, column.upper) * (1024 - dy) * dx + at(row.upper, column.upper) * dy * dx
        let rounding: Int64 = total > 0 ? 1 << 19 : -(1 << 19)
        return Int8(truncatingIfNeeded: (total + rounding) / (1 << 20))
    }
}

/// ComputeInterpolationValuesInteger for every output index along one axis.
private func integerSamples(_ input: Int, _ output: Int, _ alignCorners: Bool, _ halfPixelCenters: Bool) -> [(lower: Int, upper: Int, position: Int64)] {
    var scale = (1024 * input + output / 2) / output
    if alignCorners && output > 1 {
        scale = (1024 * (input - 1) + (output - 1) / 2) / (output - 1)
    }
    return (0..<output).map { index in
        let position = halfPixelCenters ? index * scale + scale / 2 - 512 : index * scale
        // Division truncates toward zero, as the C++ does.
        let lower = max(position / 1024, 0)
        let upper = min((position + 1023) / 1024, input - 1)
        return (lower, upper, Int64(position))
    }
}

/// CONCATENATION on 8-bit values: inputs whose parameters differ from the
/// output's are requantized (centred value times s_in / s_out plus the output
/// zero point); the rest are copied.
struct IntegerConcatKernel: Kernel {
    let rows: Int
    /// Bytes each input contributes per row.
    let blocks: [Int]
    /// Per input, the rescaling it needs, or nil to copy.
    let rescalings: [(multiplier: QuantizedMultiplier, inputZeroPoint: Int32)?]
    let outputZeroPoint: Int32
    let range: ClosedRange<Int32>
    let dtype: DType

    init(rows: Int, blocks: [Int], inputs: [Value], output: Value) {
        self.rows = rows
        self.blocks = blocks
        let o = AffineParameters(output.quantization!)
        rescalings = inputs.map { input in
            let i = AffineParameters(input.quantization!)
            return i == o ? nil : (QuantizedMultiplier(Double(i.scale) / Double(o.scale)), i.zeroPoint)
        }
        outputZeroPoint = o.zeroPoint
        dtype = output.dtype
        range = integerRange(output.dtype)
    }

    func run(_ context: KernelContext) {
        let width = blocks.reduce(0, +)
        let output = context.output(as: UInt8.self)
        for row in 0..<rows {
            var offset = row * width
            for (index, block) in blocks.enumerated() {
                let source = context.input(index, as: UInt8.self) + row * block
                if let rescaling = rescalings[index] {
                    for i in 0..<block {
                        let q = loadInteger(at: row * block + i, dtype, context.inputs[index])
                        let value = rescaling.multiplier.apply(q - rescaling.inputZeroPoint) &+ outputZeroPoint
                        storeInteger(min(max(value, range.lowerBound), range.upperBound), at: offset + i, dtype, context.output)
                    }
                } else {
                    (output + offset).update(from: source, count: block)
                }
                offset += block
            }
        }
    }
}
