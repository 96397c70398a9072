import CKernels
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter

/// TFLite's fixed-point helpers on values worked out by hand.
@Suite struct QuantizedArithmeticTests {
    @Test func quantizeMultiplierSplitsSignificandAndExponent() {
        // m = q * 2^(shift - 31), q in [2^30, 2^31).
        #expect(QuantizedMultiplier(0.5) == QuantizedMultiplier(significand: 1 << 30, shift: 0))
        #expect(QuantizedMultiplier(1) == QuantizedMultiplier(significand: 1 << 30, shift: 1))
        #expect(QuantizedMultiplier(0.75) == QuantizedMultiplier(significand: 1_610_612_736, shift: 0))
        #expect(QuantizedMultiplier(3) == QuantizedMultiplier(significand: 1_610_612_736, shift: 2))
        // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 rounds down.
        #expect(QuantizedMultiplier(0.1) == QuantizedMultiplier(significand: 1_717_986_918, shift: -3))
        #expect(QuantizedMultiplier(0) == QuantizedMultiplier(significand: 0, shift: 0))
    }

    @Test func quantizeMultiplierCarriesAndFlushes() {
        // A fraction that rounds up to 2^31 carries into the exponent.
        #expect(QuantizedMultiplier(1 - 1.0 / Double(1 << 34)) == QuantizedMultiplier(significand: 1 << 30, shift: 1))
        // Below 2^-31 every product would shift out: the multiplier becomes zero.
        #expect(QuantizedMultiplier(1e-12) == QuantizedMultiplier(significand: 0, shift: 0))
        #expect(QuantizedMultiplier(1e-12).apply(1_000_000) == 0)
    }

    @Test func highMultiplyRoundsHalvesUpAndSaturates() {
        #expect(saturatingRoundingDoublingHighMul(1 << 30, 1 << 30) == 1 << 29)
        // 2ab = 2^31 exactly half a unit: +0.5 rounds to 1, -0.5 to 0 (gemmlowp's nudge).
        #expect(saturatingRoundingDoublingHighMul(1 << 15, 1 << 15) == 1)
        #expect(saturatingRoundingDoublingHighMul(-(1 << 15), 1 << 15) == 0)
        #expect(saturatingRoundingDoublingHighMul(-(1 << 15) - 1, 1 << 15) == -1)
        #expect(saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max)
        #expect(saturatingRoundingDoublingHighMul(Int32.min, Int32.max) == -Int32.max)
    }

    @Test func divideByPowerOfTwoRoundsHalvesAwayFromZero() {
        #expect(roundingDivideByPowerOfTwo(5, 1) == 3)    // 2.5
        #expect(roundingDivideByPowerOfTwo(-5, 1) == -3)  // -2.5
        #expect(roundingDivideByPowerOfTwo(6, 2) == 2)    // 1.5
        #expect(roundingDivideByPowerOfTwo(-6, 2) == -2)  // -1.5
        #expect(roundingDivideByPowerOfTwo(7, 2) == 2)    // 1.75
        #expect(roundingDivideByPowerOfTwo(-7, 2) == -2)  // -1.75
        #expect(roundingDivideByPowerOfTwo(-5, 2) == -1)  // -1.25
        #expect(roundingDivideByPowerOfTwo(123, 0) == 123)
    }

    @Test func multiplyByQuantizedMultiplierRoundsTwice() {
        #expect(QuantizedMultiplier(0.25).apply(1000) == 250)
        #expect(QuantizedMultiplier(3).apply(5) == 15)
        // 0.5 has no right shift: only the high multiply rounds, halves up.
        #expect(QuantizedMultiplier(0.5).apply(3) == 2)
        #expect(QuantizedMultiplier(0.5).apply(-3) == -1)
        // 0.25 = 0.5 * 2^-1: exact high half, then the shift rounds halves away from zero.
        #expect(QuantizedMultiplier(0.25).apply(6) == 2)
        #expect(QuantizedMultiplier(0.25).apply(-6) == -2)
        // Double rounding: 0.3 * 5 = 1.5000000004 after the first rounding is seen as 1.5.
        #expect(QuantizedMultiplier(0.3).apply(5) == 2)
        #expect(QuantizedMultiplier(0.3).apply(-5) == -2)
    }

    @Test func meanFoldsTheCountIntoTheMultiplier() {
        let base = QuantizedMultiplier(0.5)
        // n = 4: significand * 4 / 4, exponent lowered by 2.
        #expect(meanMultiplier(base, count: 4) == QuantizedMultiplier(significand: 1 << 30, shift: -2))
        // n = 3: 2^30 * 2 / 3, exponent lowered by 1.
        #expect(meanMultiplier(base, count: 3) == QuantizedMultiplier(significand: 715_827_882, shift: -1))
        #expect(meanMultiplier(base, count: 3).apply(300) == 50)
    }

    @Test func activationBoundsInTheQuantizedDomain() throws {
        let output = AffineParameters(scale: 0.05, zeroPoint: -128)
        #expect(try activationBounds(.none, output, .int8) == -128...127)
        #expect(try activationBounds(.relu, output, .int8) == -128...127)
        #expect(try activationBounds(.relu6, output, .int8) == -128...(-8))  // -128 + 6 / 0.05
        let centred = AffineParameters(scale: 0.02, zeroPoint: 3)
        #expect(try activationBounds(.relu, centred, .int8) == 3...127)
        #expect(try activationBounds(.reluN1To1, centred, .int8) == -47...53)
        #expect(throws: H5ToLiteError.self) { try activationBounds(.tanh, centred, .int8) }
    }

    @Test func quantizeAndDequantizeValues() {
        let parameters = AffineParameters(scale: 0.5, zeroPoint: -3)
        #expect(quantizeValue(0.25, parameters, -128...127) == -2)   // 0.5 rounds away from zero
        #expect(quantizeValue(-0.25, parameters, -128...127) == -4)
        #expect(quantizeValue(1000, parameters, -128...127) == 127)
        #expect(quantizeValue(-1000, parameters, -128...127) == -128)
        #expect(quantizeValue(1000, parameters, 0...255) == 255)
        #expect(dequantizeValue(-2, parameters) == 0.5)
        #expect(dequantizeValue(-128, parameters) == -62.5)
    }

    /// The input's dynamic quantization as one range: q - zero point, and the scale back.
    func stageDynamically(_ mode: h5t_dynamic_quantization, _ values: [Float]) -> (scale: Float, centred: [Int16]) {
        var q = [Int8](repeating: 9, count: values.count)
        var scale: Float = 0
        var zeroPoint: Int32 = 0
        h5t_dynamic_quantize(mode, values.count, values, &q, &scale, &zeroPoint)
        return (scale, q.map { Int16($0) - Int16(zeroPoint) })
    }

    @Test func hybridInputQuantization() {
        // TFLite's AsymmetricQuantizeFloats on [-1, 0, 0.5, 3]: scale 4 / 255, the
        // zero point from the nearer end, -128 + 63.75 -> -64.
        let values: [Float] = [-1, 0, 0.5, 3]
        let tflite = stageDynamically(H5T_DYNAMIC_TFLITE, values)
        #expect(tflite.scale == Float(4.0 / 255))
        #expect(tflite.centred == [-64, 0, 32, 191])
        // XNNPACK's: multiplier 255 / 4, zero point rint(-128 + 63.75) = -64 too.
        let xnnpack = stageDynamically(H5T_DYNAMIC_XNNPACK, values)
        #expect(xnnpack.scale == 1 / Float(255.0 / 4))
        #expect(xnnpack.centred == [-64, 0, 32, 191])
        // A constant row quantizes to zeros with scale 1.
        for mode in [H5T_DYNAMIC_TFLITE, H5T_DYNAMIC_XNNPACK] {
            let zeros = stageDynamically(mode, [0, 0])
            #expect(zeros.scale == 1 && zeros.centred == [0, 0])
        }
        // The int8 form: q itself and its zero point.
        var q = [Int8](repeating: 0, count: 4)
        var scale: Float = 0
        var zeroPoint: Int32 = 0
        h5t_dynamic_quantize(H5T_DYNAMIC_TFLITE, 4, values, &q, &scale, &zeroPoint)
        #expect(q == [-128, -64, -32, 127] && zeroPoint == -64 && scale == Float(4.0 / 255))
    }
}
