import COpenBLAS
import H5ToLiteCore
import H5ToLiteIR

/// Sizes of a transposed convolution over one NHWC image: each input pixel scatters
/// filter x value onto the output window at (y * stride - padTop, x * stride - padLeft).
/// The padding is TFLite's: the forward convolution's, from the output back to the input.
struct TransposeGeometry {
    let inputHeight, inputWidth, inputChannels: Int
    let outputHeight, outputWidth, outputChannels: Int
    let kernelHeight, kernelWidth: Int
    let strideHeight, strideWidth: Int
    let padTop, padLeft: Int

    init(input: [Int], filter: [Int], output: [Int], window: Window) {
        (inputHeight, inputWidth, inputChannels) = (input[1], input[2], input[3])
        (outputHeight, outputWidth, outputChannels) = (output[1], output[2], output[3])
        (kernelHeight, kernelWidth) = (filter[1], filter[2])
        (strideHeight, strideWidth) = (window.stride[0], window.stride[1])
        padTop = paddingBefore(input: output[1], output: input[1], kernel: filter[1], stride: window.stride[0], dilation: 1)
        padLeft = paddingBefore(input: output[2], output: input[2], kernel: filter[2], stride: window.stride[1], dilation: 1)
    }

    var inputPixels: Int { inputHeight * inputWidth }
    var outputCount: Int { outputHeight * outputWidth * outputChannels }

    /// Calls `body(tap, outputPixel)` for each filter tap (fy * kernelWidth + fx) of input
    /// pixel `pixel` that lands inside the output.
    @inline(__always)
    func forEachTap(of pixel: Int, _ body: (Int, Int) -> Void) {
        let originY = (pixel / inputWidth) * strideHeight - padTop
        let originX = (pixel % inputWidth) * strideWidth - padLeft
        for fy in 0..<kernelHeight {
            let y = originY + fy
            guard y >= 0 && y < outputHeight else { continue }
            for fx in 0..<kernelWidth {
                let x = originX + fx
                guard x >= 0 && x < outputWidth else { continue }
                body(fy * kernelWidth + fx, y * outputWidth + x)
            }
        }
    }
}

/// TRANSPOSE_CONV in float32: one matrix product gives every input pixel's contribution
/// to every tap and output channel (input [P, I] times the OHWI filter read as
/// [O*H*W, I]), which is then added onto the output window by window (col2im).
struct TransposeConvolutionKernel: Kernel {
    let geometry: TransposeGeometry
    let hasBias: Bool
    let activation: FusedActivation

    var scratchCount: Int {
        geometry.inputPixels * geometry.outputChannels * geometry.kernelHeight * geometry.kernelWidth
    }

    func run(_ context: KernelContext) {
        let g = geometry
        let taps = g.kernelHeight * g.kernelWidth
        let columns = g.outputChannels * taps
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(g.inputPixels), Int32(columns), Int32(g.inputChannels),
                    1, context.inputs[0], Int32(g.inputChannels), context.inputs[1], Int32(g.inputChannels),
                    0, context.scratch, Int32(columns))
        let output = context.output
        output.update(repeating: 0, count: g.outputCount)
        for pixel in 0..<g.inputPixels {
            let products = context.scratch + pixel * columns
            g.forEachTap(of: pixel) { tap, target in
                let row = output + target * g.outputChannels
                for o in 0..<g.outputChannels { row[o] += products[o * taps + tap] }
            }
        }
        if hasBias {
            let bias = context.inputs[2]
            for pixel in 0..<(g.outputHeight * g.outputWidth) {
                let row = output + pixel * g.outputChannels
                for o in 0..<g.outputChannels { row[o] += bias[o] }
            }
        }
        applyActivation(activation, output, count: g.outputCount)
    }
}

/// TRANSPOSE_CONV on int8 activations, as TFLite's reference kernel computes it: int32
/// sums of (input - input zero point) x weight scattered over the whole output, then each
/// plus the int32 bias, requantized per output channel, offset and clamped. Integer
/// sums are exact in any order.
struct IntegerTransposeConvolutionKernel: Kernel {
    let geometry: TransposeGeometry
    let inputZeroPoint: Int32
    let weights: [Int32]
    let multipliers: [QuantizedMultiplier]
    let outputZeroPoint: Int32
    let bounds: ClosedRange<Int32>
    let hasBias: Bool

    var scratchCount: Int { geometry.outputCount }

    func run(_ context: KernelContext) {
        let g = geometry
        let sums = context.scratch(as: Int32.self, count: g.outputCount)
        sums.update(repeating: 0, count: g.outputCount)
        let input = context.input(0, as: Int8.self)
        let taps = g.kernelHeight * g.kernelWidth
        weights.withUnsafeBufferPointer { weights in
            for pixel in 0..<g.inputPixels {
                let values = input + pixel * g.inputChannels
                g.forEachTap(of: pixel) { tap, target in
                    let row = sums + target * g.outputChannels
                    for o in 0..<g.outputChannels {
                        let filter = weights.baseAddress! + (o * taps + tap) * g.inputChannels
                        var sum: Int32 = 0
                        for i in 0..<g.inputChannels { sum &+= (Int32(values[i]) &- inputZeroPoint) &* filter[i] }
                        row[o] &+= sum
                    }
                }
            }
        }
        let bias = hasBias ? context.input(2, as: Int32.self) : nil
        let target = context.output(as: Int8.self)
        for index in 0..<g.outputCount {
            let c = index % g.outputChannels
            let value = multipliers[c].apply(sums[index] &+ (bias?[c] ?? 0)) &+ outputZeroPoint
            target[index] = Int8(truncatingIfNeeded: min(max(value, bounds.lowerBound), bounds.upperBound))
        }
    }
}

/// The weights' zero points (TFLite's int8 TRANSPOSE_CONV takes only symmetric weights).
func zeroPoints(_ filter: Value) -> [Int] {
    filter.quantization?.zeroPoints ?? [0]
}
