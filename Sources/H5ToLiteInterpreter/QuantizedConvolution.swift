import CKernels
import H5ToLiteCore
import H5ToLiteIR

// Hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (float activations, int8
// weights), in three stages: the input is quantized on the fly into zero-centred
// integers; int32 sums of products with the centred weights follow; an output
// stage turns each sum into a float. (Int8 activations run in PackedProduct.swift.)

/// How a kernel's input becomes zero-centred integers.
enum IntegerInput: Equatable {
    /// int8 activations: q - zeroPoint.
    case int8(zeroPoint: Int32)
    /// float activations quantized per image as TFLite's built-in hybrid
    /// DEPTHWISE_CONV_2D does.
    case asymmetric
    /// float activations quantized as XNNPACK, LiteRT's default delegate,
    /// quantizes them for the hybrid ops it takes: per image, or per row (pixel)
    /// for dense layers and the 1x1 convolutions it runs as dense layers.
    case xnnpack

    /// Writes `count` centred values of one image or row to `target`; returns
    /// the scale that turns them back into reals (1 for int8 inputs, whose scale
    /// lives in the output stage).
    func center(_ context: KernelContext, from start: Int, count: Int, into target: UnsafeMutablePointer<Float>) -> Float {
        switch self {
        case .int8(let zeroPoint):
            let source = context.input(0, as: Int8.self) + start
            let offset = Float(zeroPoint)
            for i in 0..<count { target[i] = Float(source[i]) - offset }
            return 1
        case .asymmetric:
            return quantizeAsymmetrically(context.inputs[0] + start, count: count, into: target)
        case .xnnpack:
            return quantizeLikeXNNPACK(context.inputs[0] + start, count: count, into: target)
        }
    }
}

/// TFLite's AsymmetricQuantizeFloats: the range [min(0, lowest), max(0, highest)]
/// mapped onto [-128, 127] with the zero point nearer in error. Writes
/// q - zeroPoint and returns the scale. Values are rounded as LiteRT's
/// vectorized kernel (the one x86 and ARM builds run) rounds them: x * (1 / scale),
/// the inverse taken in double, rounded half away from zero, then offset.
func quantizeAsymmetrically(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) -> Float {
    var lowest: Float = 0, highest: Float = 0
    for i in 0..<count {
        lowest = min(lowest, values[i])
        highest = max(highest, values[i])
    }
    let (rmin, rmax) = (Double(lowest), Double(highest))
    guard rmin != rmax else {
        target.update(repeating: 0, count: count)
        return 1
    }
    let scale = (rmax - rmin) / 255
    let fromMin = -128 - rmin / scale, fromMax = 127 - rmax / scale
    let zeroPointReal = 128 + abs(rmin / scale) < 127 + abs(rmax / scale) ? fromMin : fromMax
    let zeroPoint: Float = zeroPointReal <= -128 ? -128 : zeroPointReal >= 127 ? 127 : Float(zeroPointReal.rounded(.toNearestOrAwayFromZero))
    let floatScale = Float(scale)
    let inverse = Float(1 / Double(floatScale))
    for i in 0..<count {
        target[i] = min(max(roundHalfAway(values[i] * inverse) + zeroPoint, -128), 127) - zeroPoint
    }
    return floatScale
}

/// x rounded half away from zero as a float sum and a truncation, the way the
/// vectorized kernels do it (x ± 0.5 itself rounds for some x below 1).
@inline(__always)
func roundHalfAway(_ x: Float) -> Float {
    (x + (x < 0 ? -0.5 : 0.5)).rounded(.towardZero)
}

/// XNNPACK's dynamic quantization (xnn_qd8_asymmetric_quantization_params and
/// its f32-qs8 convert): a multiplier 255 / (max - min) over the range widened
/// to hold 0, the zero point from whichever end errs less, ties to even, values
/// rint(x * multiplier) + zeroPoint saturated to int8, all in float. Writes
/// q - zeroPoint and returns 1 / multiplier.
func quantizeLikeXNNPACK(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) -> Float {
    var lowest: Float = 0, highest: Float = 0
    for i in 0..<count {
        lowest = min(lowest, values[i])
        highest = max(highest, values[i])
    }
    let multiplier: Float = lowest == highest ? 1 : 255 / (highest - lowest)
    let descaledMin = lowest * multiplier, descaledMax = highest * multiplier
    let nearer: Float = (-128 + descaledMin) + (127 + descaledMax) > 0 ? -128 - descaledMin : 127 - descaledMax
    let zeroPoint = min(max(nearer, -128), 127).rounded(.toNearestOrEven)
    for i in 0..<count {
        target[i] = min(max((values[i] * multiplier).rounded(.toNearestOrEven) + zeroPoint, -128), 127) - zeroPoint
    }
    return 1 / multiplier
}

/// How int32 sums become outputs, channel by channel.
enum IntegerOutput {
    /// int8: (sum + bias) times the channel's multiplier, plus the output zero
    /// point, clamped to the fused activation's bounds.
    case int8(multipliers: [QuantizedMultiplier], zeroPoint: Int32, bounds: ClosedRange<Int32>)
    /// float (hybrid files): the sum times input scale and weight scale, plus the
    /// float bias, then the fused activation. `scales` holds each channel's weight
    /// scale; the order of the float operations follows the kernel imitated.
    case float(scales: [Float], activation: FusedActivation, order: HybridOrder)

    /// Finishes `count` sums of one output pixel or row, channels 0..<count.
    func finish(_ sums: UnsafePointer<Int32>, count: Int, inputScale: Float, bias: UnsafeRawPointer?,
                into output: UnsafeMutableRawPointer) {
        switch self {
        case .int8(let multipliers, let zeroPoint, let bounds):
            let target = output.assumingMemoryBound(to: Int8.self)
            let biases = bias?.assumingMemoryBound(to: Int32.self)
            multipliers.withUnsafeBufferPointer { multipliers in
                for c in 0..<count {
                    let value = multipliers[c].apply(sums[c] &+ (biases?[c] ?? 0)) &+ zeroPoint
                    target[c] = Int8(truncatingIfNeeded: min(max(value, bounds.lowerBound), bounds.upperBound))
                }
            }
        case .float(let scales, let activation, let order):
            let target = output.assumingMemoryBound(to: Float.self)
            let biases = bias?.assumingMemoryBound(to: Float.self)
            for c in 0..<count {
                let sum = Float(sums[c]), bias = biases?[c] ?? 0
                switch order {
                case .tflite: target[c] = sum * (scales[c] * inputScale) + bias
                case .tfliteDepthwise: target[c] = sum * inputScale * scales[c] + bias
                case .xnnpack: target[c] = bias.addingProduct(sum * inputScale, scales[c])
                }
            }
            applyActivation(activation, target, count: count)
        }
    }

    var elementSize: Int {
        if case .int8 = self { return 1 }
        return 4
    }
}

/// The order of a hybrid kernel's float operations: TFLite's built-in kernels
/// scale the sum by (weight scale * input scale), or for depthwise by the input
/// scale, then the weight scale, and add the bias; XNNPACK scales by the input
/// scale, then fuses the weight scale and the bias into one multiply-add.
enum HybridOrder {
    case tflite, tfliteDepthwise, xnnpack
}

/// The weights of a convolution or dense layer with their zero point subtracted
/// (TFLite's filter offset; zero for symmetric weights), as floats.
func centredWeights(_ graph: Graph, _ id: ValueID) throws -> [Float] {
    guard case .int8(let values) = graph[id].constant else {
        throw H5ToLiteError("weights '\(graph[id].name)' must be an int8 constant")
    }
    let zeroPoints = graph[id].quantization?.zeroPoints ?? [0]
    let zeroPoint = zeroPoints.count == 1 ? Float(zeroPoints[0]) : 0
    return values.map { Float($0) - zeroPoint }
}

/// CONV_2D and FULLY_CONNECTED with float activations and int8 weights (hybrid files), as LiteRT
/// runs them: the input quantized on the fly (per image, or per pixel or row where XNNPACK does
/// it so), exact int32 sums of the centred input and weights (h5t_qs8_igemm without
/// requantization), then each sum scaled to a float with the bias and the fused activation.
struct HybridProductKernel: Kernel {
    /// Weights packed as int16 pairs: the centred input does not fit a byte.
    let product: IntegerProduct
    let input: IntegerInput
    /// Whether each input pixel (row) is quantized on its own: each output row then has its scale.
    let perPixel: Bool
    let output: IntegerOutput
    let hasBias: Bool

    init(window: WindowGeometry?, units: Int, inputCount: Int, weights: [Int16], input: IntegerInput, output: IntegerOutput,
         hasBias: Bool, threads: Int) {
        product = IntegerProduct(window: window, units: units, inputCount: inputCount, weights: weights, bias: nil,
                                 inputZeroPoint: 0, layout: H5T_PAIRS, threads: threads)
        self.input = input
        // XNNPACK takes a dense layer, and a 1x1 stride-1 convolution as one, row by row.
        let channels = product.rows.channels
        let pointwise = window.map { $0.kernelHeight == 1 && $0.kernelWidth == 1 && $0.strideHeight == 1 && $0.strideWidth == 1
            && $0.inputHeight == $0.outputHeight && $0.inputWidth == $0.outputWidth && channels + units > 2 } ?? true
        perPixel = input == .xnnpack && pointwise
        self.output = output
        self.hasBias = hasBias
    }

    private var pixels: Int { product.pixels }
    private var channels: Int { product.rows.channels }
    private var units: Int { product.units }
    /// Words of scratch: centred floats, staged pixels and their padding pixel, int32 sums, scales.
    private var layout: (staged: Int, sums: Int, scales: Int, end: Int) {
        let staged = pixels * channels
        let sums = staged + wordCount((pixels + 1) * product.pixelBytes, size: 1)
        let scales = sums + product.rows.count * units
        return (staged, sums, scales, scales + pixels)
    }

    var scratchCount: Int { layout.end }

    func run(_ context: KernelContext) {
        let (stagedStart, sumsStart, scalesStart, _) = layout
        let centred = context.scratch
        let width = product.pixelBytes / 2
        let staged = UnsafeMutableRawPointer(context.scratch + stagedStart).bindMemory(to: Int16.self, capacity: (pixels + 1) * width)
        let sums = UnsafeMutableRawPointer(context.scratch + sumsStart).bindMemory(to: Int32.self, capacity: product.rows.count * units)
        let scales = context.scratch + scalesStart
        if perPixel {
            for pixel in 0..<pixels { scales[pixel] = input.center(context, from: pixel * channels, count: channels, into: centred + pixel * channels) }
        } else {
            scales[0] = input.center(context, from: 0, count: pixels * channels, into: centred)
        }
        // Each pixel's channels, zeros past them; then one pixel of zeros, the padding.
        for pixel in 0..<pixels {
            let row = staged + pixel * width
            for c in 0..<channels { row[c] = Int16(centred[pixel * channels + c]) }
            (row + channels).update(repeating: 0, count: width - channels)
        }
        (staged + pixels * width).update(repeating: 0, count: width)
        product.multiply(staged: staged, padding: staged + pixels * width, requantization: nil, into: UnsafeMutableRawPointer(sums))
        parallelFor(product.rows.count, threads: product.threads, grain: max(1, (1 << 12) / max(units, 1))) { _, range in
            for row in range {
                output.finish(sums + row * units, count: units, inputScale: scales[perPixel ? row : 0],
                              bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                              into: UnsafeMutableRawPointer(context.output) + row * units * output.elementSize)
            }
        }
    }
}

/// DEPTHWISE_CONV_2D on integers: each output channel c*m+j sums centred input
/// channel c under the window times its own tap (a few products: exact in float).
struct IntegerDepthwiseKernel: Kernel {
    let geometry: WindowGeometry
    let multiplier: Int
    let weights: [Float]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int

    private var imageCount: Int { geometry.inputHeight * geometry.inputWidth * geometry.inputChannels }
    private var width: Int { geometry.inputChannels * multiplier }
    private var chunks: Int { chunkCount(geometry.outputHeight, threads: threads) }

    var scratchCount: Int { imageCount + chunks * 2 * width }

    func run(_ context: KernelContext) {
        let image = context.scratch
        let inputScale = input.center(context, from: 0, count: imageCount, into: image)
        let rowLength = geometry.outputWidth * width * output.elementSize
        parallelFor(geometry.outputHeight, threads: threads) { chunk, range in
            let partial = context.scratch + imageCount + chunk * 2 * width
            let sums = UnsafeMutableRawPointer(partial + width).bindMemory(to: Int32.self, capacity: width)
            for y in range {
                for x in 0..<geometry.outputWidth {
                    weights.withUnsafeBufferPointer { filter in
                        depthwiseWindowSums(geometry, multiplier: multiplier, image: image, filter: filter.baseAddress!,
                                            y: y, x: x, into: partial)
                    }
                    for c in 0..<width { sums[c] = Int32(partial[c]) }
                    output.finish(sums, count: width, inputScale: inputScale,
                                  bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                                  into: UnsafeMutableRawPointer(context.output) + y * rowLength + x * width * output.elementSize)
                }
            }
        }
    }
}
