import Foundation
import H5ToLiteCore
import H5ToLiteIR

// TFLite's integer arithmetic (tensorflow/lite/kernels/internal/common.h and
// quantization_util.cc, the default double-rounding build): a real multiplier is
// held as a 31-bit fixed-point significand and a power-of-two exponent, and
// applied with two roundings, one in the high multiply, one in the shift.
//
// The int8 kernels follow TFLite's reference kernels, and match them exactly
// on the golden files and on DenseNet121 and MobileNetV2. LiteRT's default
// runtime does not run those kernels, and differs by one step at rare ties:
// - XNNPACK (its default delegate, which takes most int8 ops) requantizes in
//   float, acc * (s_in * s_w / s_out), rounding halves to even;
// - its own optimized kernels on x86 multiply through ruy, whose shifts round
//   halves up where gemmlowp's round them away from zero, and run NEON code
//   translated to SSE (DEQUANTIZE as q * s + (-z * s), two float roundings).
// Over a deep network the ±1 differences add up: a few output steps.

/// A real number m as (significand q, exponent e) with m ≈ q * 2^(e - 31).
struct QuantizedMultiplier: Equatable {
    let significand: Int32
    let shift: Int
    /// 2^max(shift, 0), and the right shift with its mask: fixed once, so that
    /// applying the multiplier has no branches on the shift.
    private let leftFactor: Int32
    private let rightShift: Int32
    private let mask: Int32

    /// TFLite's QuantizeMultiplier: frexp, the significand rounded half away
    /// from zero to 31 bits, a carry into the exponent when it rounds up to 2^31,
    /// and multipliers below 2^-31 flushed to zero.
    init(_ real: Double) {
        guard real != 0, real.isFinite else {
            self.init(significand: 0, shift: 0)
            return
        }
        var exponent = real.exponent + 1  // frexp's: real = fraction * 2^exponent, fraction in [0.5, 1)
        let fraction = (real.sign == .minus ? -real.significand : real.significand) / 2
        var fixed = Int64((fraction * Double(1 << 31)).rounded(.toNearestOrAwayFromZero))
        if fixed == 1 << 31 {
            fixed /= 2
            exponent += 1
        }
        if exponent < -31 {
            fixed = 0
            exponent = 0
        }
        self.init(significand: Int32(fixed), shift: exponent)
    }

    init(significand: Int32, shift: Int) {
        self.significand = significand
        self.shift = shift
        leftFactor = Int32(truncatingIfNeeded: 1 << min(max(shift, 0), 31))
        rightShift = Int32(min(max(-shift, 0), 31))
        mask = Int32(truncatingIfNeeded: (Int64(1) << Int64(rightShift)) - 1)
    }

    static func == (a: QuantizedMultiplier, b: QuantizedMultiplier) -> Bool {
        a.significand == b.significand && a.shift == b.shift
    }

    /// MultiplyByQuantizedMultiplier: x * m, rounded to nearest, ties away
    /// from zero in each of its two roundings.
    @inline(__always)
    func apply(_ x: Int32) -> Int32 {
        let high = saturatingRoundingDoublingHighMul(x &* leftFactor, significand)
        // RoundingDivideByPOT by the right shift.
        let remainder = high & mask
        let threshold = (mask &>> 1) &+ (high < 0 ? 1 : 0)
        return (high &>> rightShift) &+ (remainder > threshold ? 1 : 0)
    }
}

/// gemmlowp's SaturatingRoundingDoublingHighMul: the high 32 bits of 2ab, rounded
/// half away from zero; the one overflowing case (both INT32_MIN) saturates.
@inline(__always)
func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
    if a == b && a == Int32.min { return Int32.max }
    let product = Int64(a) &* Int64(b)
    let nudged = product &+ (product >= 0 ? 1 << 30 : 1 - (1 << 30))
    // Division by 2^31 truncating toward zero, as the C++ does.
    let quotient = (nudged >= 0 ? nudged : nudged &+ ((1 << 31) - 1)) &>> 31
    return Int32(truncatingIfNeeded: quotient)
}

/// gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties
/// away from zero.
@inline(__always)
func roundingDivideByPowerOfTwo(_ x: Int32, _ exponent: Int) -> Int32 {
    let mask = Int32(truncatingIfNeeded: (Int64(1) << exponent) - 1)
    let remainder = x & mask
    let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
    return (x >> Int32(exponent)) + (remainder > threshold ? 1 : 0)
}

/// The affine parameters of one per-tensor quantized value.
struct AffineParameters: Equatable {
    let scale: Float
    let zeroPoint: Int32

    init(_ quantization: Quantization) {
        scale = quantization.scales[0]
        zeroPoint = Int32(quantization.zeroPoints[0])
    }

    init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// TFLite's Quantize helper for activation bounds: zero point plus f / scale
    /// rounded half away from zero (in float).
    func quantize(_ f: Float) -> Int32 {
        zeroPoint &+ saturatingInt32((f / scale).rounded(.toNearestOrAwayFromZero))
    }
}

/// A float's integer part, saturated to Int32 (NaN gives 0): parameters from a hostile file
/// can make a product overflow, and a conversion must not trap.
func saturatingInt32(_ value: Float) -> Int32 {
    guard !value.isNaN else { return 0 }
    return Int32(max(min(value, 2_147_483_520), -2_147_483_648))
}

/// The range of raw values an 8-bit element type holds.
func integerRange(_ dtype: DType) -> ClosedRange<Int32> {
    dtype == .uint8 ? 0...255 : -128...127
}

/// CalculateActivationRangeQuantized: a fused activation as bounds on the raw
/// output values, intersected with the type's range.
func activationBounds(_ activation: FusedActivation, _ output: AffineParameters, _ dtype: DType) throws -> ClosedRange<Int32> {
    let range = integerRange(dtype)
    func clipped(_ lower: Int32, _ upper: Int32) -> ClosedRange<Int32> {
        let low = max(range.lowerBound, lower), high = min(range.upperBound, upper)
        return low...max(low, high)
    }
    switch activation {
    case .none: return range
    case .relu: return clipped(output.quantize(0), range.upperBound)
    case .relu6: return clipped(output.quantize(0), output.quantize(6))
    case .reluN1To1: return clipped(output.quantize(-1), output.quantize(1))
    case .tanh: throw H5ToLiteError("a fused tanh is not supported on quantized ops")
    }
}

/// AffineQuantize as TFLite's optimized QUANTIZE computes it for 8-bit
/// outputs: x / scale in double, rounded half away from zero, plus the zero
/// point, clamped to the type.
@inline(__always)
func quantizeValue(_ x: Float, _ parameters: AffineParameters, _ range: ClosedRange<Int32>) -> Int32 {
    let scaled = (Double(x) / Double(parameters.scale)).rounded(.toNearestOrAwayFromZero)
    let bounded = min(max(scaled, Double(Int32.min)), Double(Int32.max))
    return min(max(Int32(bounded) &+ parameters.zeroPoint, range.lowerBound), range.upperBound)
}

/// DEQUANTIZE: scale * (q - zeroPoint), a double product rounded to float.
@inline(__always)
func dequantizeValue(_ q: Int32, _ parameters: AffineParameters) -> Float {
    Float(Double(parameters.scale) * Double(q - parameters.zeroPoint))
}
