import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// LOGISTIC, TANH and GELU on int8: a 256-entry table built as TFLite's default
/// (generic optimized) kernels build theirs, in float; or a table given (RSQRT's).
struct LookupTableKernel: Kernel {
    let table: [Int8]
    let count: Int

    init(count: Int, table: [Int8]) {
        self.count = count
        self.table = table
    }

    init(count: Int, input: AffineParameters, output: AffineParameters, _ function: (Float) -> Float) {
        self.count = count
        let inverse = 1 / output.scale
        table = (Int32(-128)...127).map { q in
            let real = input.scale * Float(q - input.zeroPoint)
            let scaled = (function(real) * inverse).rounded(.toNearestOrAwayFromZero)
            return Int8(clamping: saturatingInt32(scaled) &+ output.zeroPoint)
        }
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        table.withUnsafeBufferPointer { table in
            for i in 0..<count { output[i] = table[Int(input[i]) + 128] }
        }
    }
}

func logistic(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

/// RELU, RELU6 and RELU_N1_TO_1 on int8 (TFLite's QuantizedReluX): the centred
/// input rescaled to the output, then clamped to the activation's bounds.
struct IntegerReluKernel: Kernel {
    let count: Int
    let inputZeroPoint: Int32
    let outputZeroPoint: Int32
    let multiplier: QuantizedMultiplier
    let bounds: ClosedRange<Int32>

    init(count: Int, lower: Float, upper: Float?, input: AffineParameters, output: AffineParameters) {
        self.count = count
        inputZeroPoint = input.zeroPoint
        outputZeroPoint = output.zeroPoint
        multiplier = QuantizedMultiplier(Double(input.scale / output.scale))
        let low = max(-128, output.quantize(lower))
        bounds = low...max(low, upper.map { min(127, output.quantize($0)) } ?? 127)
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        for i in 0..<count {
            let value = multiplier.apply(Int32(input[i]) - inputZeroPoint) &+ outputZeroPoint
            output[i] = Int8(min(max(value, bounds.lowerBound), bounds.upperBound))
        }
    }
}

/// LEAKY_RELU on int8: the centred input rescaled by s_in / s_out where it is
/// not negative, by s_in * alpha / s_out where it is.
struct IntegerLeakyReluKernel: Kernel {
    let count: Int
    let inputZeroPoint: Int32
    let outputZeroPoint: Int32
    let identity: QuantizedMultiplier
    /// |alpha|'s multiplier; a negative alpha flips the sign after it.
    let alpha: QuantizedMultiplier
    let alphaIsNegative: Bool

    init(count: Int, alpha: Float, input: AffineParameters, output: AffineParameters) {
        self.count = count
        inputZeroPoint = input.zeroPoint
        outputZeroPoint = output.zeroPoint
        identity = QuantizedMultiplier(Double(input.scale / output.scale))
        let alphaScale = input.scale * alpha / output.scale
        self.alpha = QuantizedMultiplier(Double(abs(alphaScale)))
        alphaIsNegative = alphaScale < 0
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        for i in 0..<count {
            let centred = Int32(input[i]) - inputZeroPoint
            var value = outputZeroPoint
            if centred >= 0 {
                value &+= identity.apply(centred)
            } else {
                let scaled = alpha.apply(centred)
                value &+= alphaIsNegative ? -scaled : scaled
            }
            output[i] = Int8(min(max(value, -128), 127))
        }
    }
}

/// HARD_SWISH on int8, TFLite's 16-bit fixed-point reference: x on a finer
/// scale, a "relu-ish" factor in [0, 1] from x rescaled so that 3 maps to
/// 2^15, their product, then the output shift.
struct IntegerHardSwishKernel: Kernel {
    let count: Int
    let inputZeroPoint: Int32
    let outputZeroPoint: Int32
    let outputMultiplier: Int16
    let outputExponent: Int
    let reluishMultiplier: Int16
    let reluishExponent: Int

    init(count: Int, input: AffineParameters, output: AffineParameters) throws {
        self.count = count
        inputZeroPoint = input.zeroPoint
        outputZeroPoint = output.zeroPoint
        let finerInputScale = (1 / 128 as Float) * input.scale
        let outputScaling = QuantizedMultiplier(Double(finerInputScale / output.scale))
        let reluishScaling = QuantizedMultiplier(Double(finerInputScale / (3 / 32768 as Float)))
        guard outputScaling.shift <= 0 else {
            throw H5ToLiteError("hard_swish: the output scale is too small for the input scale")
        }
        outputMultiplier = downscaledMultiplier(outputScaling.significand)
        outputExponent = outputScaling.shift
        reluishMultiplier = downscaledMultiplier(reluishScaling.significand)
        reluishExponent = reluishScaling.shift
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        for i in 0..<count {
            output[i] = Int8(clamping: value(Int32(input[i])))
        }
    }

    private func value(_ q: Int32) -> Int16 {
        let finer = Int16(q - inputZeroPoint) * (1 << 7)
        let preshiftOutput = roundingHighMul16(finer, outputMultiplier)
        var reluish = finer
        if reluishExponent > 0 { reluish = saturatingLeftShift16(reluish, reluishExponent - 1) }
        reluish = roundingHighMul16(reluish, reluishMultiplier)
        if reluishExponent > 0 { reluish = saturatingLeftShift16(reluish, 1) }
        if reluishExponent < 0 { reluish = Int16(roundingDivideByPowerOfTwo(Int32(reluish), -reluishExponent)) }
        reluish = Int16((Int32(reluish) + (1 << 15)) >> 1)
        let product = truncatingHighMul16(reluish, preshiftOutput)
        let shifted = Int16(roundingDivideByPowerOfTwo(Int32(product), -outputExponent))
        return shifted &+ Int16(truncatingIfNeeded: outputZeroPoint)
    }
}

/// DownScaleInt32ToInt16Multiplier: the top 16 bits of a 31-bit significand, rounded.
func downscaledMultiplier(_ multiplier: Int32) -> Int16 {
    guard multiplier < Int32.max - (1 << 15) else { return Int16.max }
    return Int16((multiplier + (1 << 15)) >> 16)
}

/// gemmlowp's 16-bit SaturatingRoundingDoublingHighMul.
func roundingHighMul16(_ a: Int16, _ b: Int16) -> Int16 {
    if a == b && a == Int16.min { return Int16.max }
    let product = Int32(a) * Int32(b)
    let nudge: Int32 = product >= 0 ? 1 << 14 : 1 - (1 << 14)
    return Int16(truncatingIfNeeded: (product + nudge) / (1 << 15))
}

/// The high half of 2ab truncated toward zero (ARM's SQDMULH), which the hard
/// swish uses to cancel the biases of the rounding multiplies.
func truncatingHighMul16(_ a: Int16, _ b: Int16) -> Int16 {
    if a == b && a == Int16.min { return Int16.max }
    return Int16(truncatingIfNeeded: (Int32(a) * Int32(b)) / (1 << 15))
}

func saturatingLeftShift16(_ value: Int16, _ amount: Int) -> Int16 {
    Int16(min(max(Int64(value) * (1 << amount), Int64(Int16.min)), Int64(Int16.max)))
}

/// SOFTMAX on int8 as TFLite's default kernel computes it: exp(-s_in * beta *
/// (max - q)) from a 256-entry float table, summed in float, each probability
/// divided by the sum and the output scale and rounded half away from zero.
struct IntegerSoftmaxKernel: Kernel {
    let rows: Int
    let depth: Int
    let table: [Float]
    let outputScale: Float
    let outputZeroPoint: Int32

    init(rows: Int, depth: Int, beta: Float, input: AffineParameters, output: AffineParameters) {
        self.rows = rows
        self.depth = depth
        let scale = -input.scale * beta
        table = (0...255).map { difference in exp(scale * Float(difference)) }
        outputScale = output.scale
        outputZeroPoint = output.zeroPoint
    }

    func run(_ context: KernelContext) {
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        for row in 0..<rows {
            let x = input + row * depth, y = output + row * depth
            var largest: Int32 = -128
            for i in 0..<depth { largest = max(largest, Int32(x[i])) }
            var sum: Float = 0
            for i in 0..<depth { sum += table[Int(largest - Int32(x[i]))] }
            let inverse = 1 / (sum * outputScale)
            for i in 0..<depth {
                let probability = (table[Int(largest - Int32(x[i]))] * inverse).rounded(.toNearestOrAwayFromZero)
                y[i] = Int8(clamping: saturatingInt32(probability) &+ outputZeroPoint)
            }
        }
    }
}

/// RSQRT on int8 as TFLite's elementwise kernel computes it, in fixed point: 1/sqrt of the
/// centred input by Newton's method (GetInvSqrtQuantizedMultiplierExp), rescaled by
/// 1 / (sqrt(s_in) * s_out); tabulated per int8 value, since the result depends on it alone.
/// TFLite stops with an error on a value below the zero point; the table gives it 127.
func rsqrtTable(input: AffineParameters, output: AffineParameters) -> [Int8] {
    let multiplier = QuantizedMultiplier(1 / Double(input.scale.squareRoot() * output.scale))
    let rescale = QuantizedMultiplier(significand: multiplier.significand, shift: multiplier.shift - 20)
    return (Int32(-128)...127).map { q in
        let centred = q - input.zeroPoint
        guard centred > 0 else { return 127 }
        let (significand, shift) = inverseSquareRoot(centred)
        let data = QuantizedMultiplier(significand: significand, shift: shift + 20).apply(1)
        return Int8(clamping: rescale.apply(data) &+ output.zeroPoint)
    }
}

/// gemmlowp's 1 / sqrt(v) for v > 0 as a multiplier and a left shift: v normalised to
/// [2^27, 2^29), five Newton steps x <- 1.5 x - v/2 x^3 in Q3 fixed point, times sqrt(2)/2.
func inverseSquareRoot(_ value: Int32) -> (significand: Int32, shift: Int) {
    guard value > 1 else { return (Int32.max, 0) }
    var v = value
    var shift = 11
    while v >= 1 << 29 {
        v /= 4
        shift += 1
    }
    let pairs = (v.leadingZeroBitCount - 1) / 2 - 1
    shift -= pairs
    v <<= 2 * pairs
    let halfInput = roundingDivideByPowerOfTwo(v >> 1, 1)
    var x: Int32 = 1 << 28
    for _ in 0..<5 {
        let cube = saturatingShiftLeft(saturatingRoundingDoublingHighMul(saturatingRoundingDoublingHighMul(x, x), x), 6)
        let next = saturatingRoundingDoublingHighMul(402_653_184, x) &- saturatingRoundingDoublingHighMul(halfInput, cube)
        x = saturatingShiftLeft(next, 3)
    }
    x = saturatingRoundingDoublingHighMul(x, 1_518_500_250)
    if shift < 0 {
        x <<= Int32(-shift)
        shift = 0
    }
    return (x, -shift)
}

/// gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent: x * 2^exponent,
/// saturated to the int32 range.
private func saturatingShiftLeft(_ x: Int32, _ exponent: Int32) -> Int32 {
    let threshold = (Int32(1) << (31 - exponent)) - 1
    if x > threshold { return Int32.max }
    if x < -threshold { return Int32.min }
    return x << exponent
}
