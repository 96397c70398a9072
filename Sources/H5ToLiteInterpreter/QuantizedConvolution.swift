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
}

/// The order of a hybrid kernel's float operations: TFLite's built-in depthwise kernel scales
/// the sum by the input scale, then the weight scale, and adds the bias; XNNPACK scales by the
/// input scale, then fuses the weight scale and the bias into one multiply-add.
enum HybridOrder {
    case tfliteDepthwise, xnnpack

    var kernelOrder: h5t_hybrid_order {
        switch self {
        case .tfliteDepthwise: H5T_HYBRID_TFLITE_DEPTHWISE
        case .xnnpack: H5T_HYBRID_XNNPACK
        }
    }
}

/// The weights of a convolution or dense layer with their zero point subtracted
/// (TFLite's filter offset; zero for symmetric weights).
func centredWeights(_ graph: Graph, _ id: ValueID) throws -> [Int32] {
    guard case .int8(let values) = graph[id].constant else {
        throw H5ToLiteError("weights '\(graph[id].name)' must be an int8 constant")
    }
    let zeroPoints = graph[id].quantization?.zeroPoints ?? [0]
    let zeroPoint = zeroPoints.count == 1 ? Int32(zeroPoints[0]) : 0
    return values.map { Int32($0) - zeroPoint }
}

/// CONV_2D and FULLY_CONNECTED with float activations and int8 weights (hybrid files), as LiteRT
/// runs them: the input quantized on the fly (per image, or per pixel or row where XNNPACK does
/// it so), exact int32 sums of the centred input and weights, then each sum scaled to a float
/// with the bias and the fused activation. The sums run on the int8 product kernels (VNNI where
/// the processor has it) over the quantized values themselves; the zero point, which changes
/// with every image or row, is taken out afterwards: sum (q - z) w = sum q w - z sum w, which
/// holds in the padding too since the padding pixel is z.
struct HybridProductKernel: Kernel {
    let product: IntegerProduct
    let input: IntegerInput
    /// Whether each input pixel (row) is quantized on its own: each output row then has its scale.
    let perPixel: Bool
    /// Each unit's sum of weights (less their zero point), for taking the input zero point out.
    let weightSums: [Int32]
    let weightScales: [Float]
    let activation: FusedActivation
    let order: HybridOrder
    let hasBias: Bool

    init(window: WindowGeometry?, units: Int, inputCount: Int, weights: [Int16], input: IntegerInput, weightScales: [Float],
         activation: FusedActivation, order: HybridOrder, hasBias: Bool, threads: Int) {
        product = IntegerProduct(window: window, units: units, inputCount: inputCount, weights: weights, bias: nil,
                                 inputZeroPoint: 0, layout: nil, threads: threads)
        self.input = input
        // XNNPACK takes a dense layer, and a 1x1 stride-1 convolution as one, row by row.
        let channels = product.rows.channels
        let pointwise = window.map { $0.kernelHeight == 1 && $0.kernelWidth == 1 && $0.strideHeight == 1 && $0.strideWidth == 1
            && $0.inputHeight == $0.outputHeight && $0.inputWidth == $0.outputWidth && channels + units > 2 } ?? true
        perPixel = input == .xnnpack && pointwise
        let depth = weights.count / units
        weightSums = (0..<units).map { unit in weights[unit * depth..<(unit + 1) * depth].reduce(Int32(0)) { $0 &+ Int32($1) } }
        self.weightScales = weightScales
        self.activation = activation
        self.order = order
        self.hasBias = hasBias
    }

    private var pixels: Int { product.pixels }
    private var channels: Int { product.rows.channels }
    private var units: Int { product.units }
    /// Words of scratch: the quantized input and a pixel of its zero point, staged pixels and
    /// their padding pixel, int32 sums, scales and zero points (one per pixel, or one).
    private var layout: (staged: Int, sums: Int, scales: Int, zeroPoints: Int, end: Int) {
        let staged = wordCount((pixels + 1) * channels, size: 1)
        let sums = staged + wordCount((pixels + 1) * product.pixelBytes, size: 1)
        let scales = sums + product.rows.count * units
        let zeroPoints = scales + pixels
        return (staged, sums, scales, zeroPoints, zeroPoints + pixels)
    }

    var scratchCount: Int { layout.end }

    func run(_ context: KernelContext) {
        let (stagedStart, sumsStart, scalesStart, zeroPointsStart, _) = layout
        let quantized = context.scratch(as: Int8.self, count: (pixels + 1) * channels)
        let stride = product.pixelBytes
        let staged = UnsafeMutableRawPointer(context.scratch + stagedStart).bindMemory(to: UInt8.self, capacity: (pixels + 1) * stride)
        let sums = UnsafeMutableRawPointer(context.scratch + sumsStart).bindMemory(to: Int32.self, capacity: product.rows.count * units)
        let scales = context.scratch + scalesStart
        let zeroPoints = UnsafeMutableRawPointer(context.scratch + zeroPointsStart).bindMemory(to: Int32.self, capacity: pixels)
        quantize(context, into: quantized, scales: scales, zeroPoints: zeroPoints)
        parallelFor(pixels, threads: product.threads, grain: max(1, (1 << 14) / max(channels, 1))) { _, range in
            h5t_qs8_stage(product.layout, Int32(range.count), Int32(channels), quantized + range.lowerBound * channels, 0,
                          staged + range.lowerBound * stride)
        }
        // The padding pixel: the zero point (only a whole image's quantization meets padding).
        let padding = quantized + pixels * channels
        padding.update(repeating: Int8(truncatingIfNeeded: zeroPoints[0]), count: channels)
        h5t_qs8_stage(product.layout, 1, Int32(channels), padding, 0, staged + pixels * stride)
        product.multiply(staged: staged, padding: staged + pixels * stride, requantization: nil, into: UnsafeMutableRawPointer(sums))
        parallelFor(product.rows.count, threads: product.threads, grain: max(1, (1 << 12) / max(units, 1))) { _, range in
            let target = context.output + range.lowerBound * units
            h5t_hybrid_finish(order.kernelOrder, Int32(range.count), Int32(units), sums + range.lowerBound * units,
                              perPixel ? scales + range.lowerBound : scales, perPixel ? zeroPoints + range.lowerBound : zeroPoints,
                              weightSums, perPixel ? 1 : 0, weightScales, hasBias ? context.inputs[2] : nil, target)
            applyActivation(activation, target, count: range.count * units)
        }
    }

    /// The input as int8 values, with the scales and zero points that map them back: one for
    /// the image, or one per pixel.
    private func quantize(_ context: KernelContext, into quantized: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                          zeroPoints: UnsafeMutablePointer<Int32>) {
        switch input {
        case .int8(let zeroPoint):
            quantized.update(from: context.input(0, as: Int8.self), count: pixels * channels)
            scales[0] = 1
            zeroPoints[0] = zeroPoint
        case .asymmetric, .xnnpack:
            let mode = input == .xnnpack ? H5T_DYNAMIC_XNNPACK : H5T_DYNAMIC_TFLITE
            guard perPixel else {
                h5t_dynamic_quantize(mode, pixels * channels, context.inputs[0], quantized, scales, zeroPoints)
                return
            }
            parallelFor(pixels, threads: product.threads, grain: max(1, (1 << 12) / max(channels, 1))) { _, range in
                for pixel in range {
                    h5t_dynamic_quantize(mode, channels, context.inputs[0] + pixel * channels, quantized + pixel * channels,
                                         scales + pixel, zeroPoints + pixel)
                }
            }
        }
    }
}

/// DEPTHWISE_CONV_2D with float activations and int8 weights (hybrid files), as TFLite's
/// built-in kernel runs it: the image quantized as one range, exact int32 sums of the centred
/// input and weights on the int8 depthwise kernel (weights packed on each run, since the input's
/// zero point folded into them changes with the image), then each sum scaled to a float with
/// the bias and the fused activation. An int8 input with a float output takes the same path.
struct IntegerDepthwiseKernel: Kernel {
    let windows: DepthwiseWindows
    /// The input's elements: pixels times channels.
    let imageCount: Int
    /// Weights less their zero point, [taps][channels * multiplier].
    let weights: [Int32]
    let input: IntegerInput
    let weightScales: [Float]
    let activation: FusedActivation
    let order: HybridOrder
    let hasBias: Bool
    let threads: Int

    private var packedCount: Int { h5t_qs8_depthwise_packed_words(Int32(windows.taps), Int32(windows.width)) }
    /// Words of scratch: the int8 image and a padding row of its zero point, packed weights, int32 sums.
    private var layout: (packed: Int, sums: Int, end: Int) {
        let packed = wordCount(imageCount + windows.channels, size: 1)
        let sums = packed + packedCount
        return (packed, sums, sums + windows.pixels * windows.width)
    }

    var scratchCount: Int { layout.end }

    func run(_ context: KernelContext) {
        let (packedStart, sumsStart, _) = layout
        let image = UnsafeMutableRawPointer(context.scratch).bindMemory(to: Int8.self, capacity: imageCount + windows.channels)
        let packed = UnsafeMutableRawPointer(context.scratch + packedStart).bindMemory(to: Int32.self, capacity: packedCount)
        let sums = UnsafeMutableRawPointer(context.scratch + sumsStart).bindMemory(to: Int32.self, capacity: windows.pixels * windows.width)
        var scale: Float = 1
        var zeroPoint: Int32 = 0
        switch input {
        case .int8(let inputZeroPoint):
            image.update(from: context.input(0, as: Int8.self), count: imageCount)
            zeroPoint = inputZeroPoint
        case .asymmetric, .xnnpack:
            h5t_dynamic_quantize(input == .xnnpack ? H5T_DYNAMIC_XNNPACK : H5T_DYNAMIC_TFLITE, imageCount, context.inputs[0], image,
                                 &scale, &zeroPoint)
        }
        (image + imageCount).update(repeating: Int8(truncatingIfNeeded: zeroPoint), count: windows.channels)
        h5t_qs8_depthwise_pack(Int32(windows.taps), Int32(windows.width), weights, nil, zeroPoint, packed)
        let width = windows.width
        windows.withShape { shape in
            parallelFor(windows.pixels, threads: threads, grain: windows.grain) { _, range in
                h5t_qs8_depthwise(shape, Int32(range.lowerBound), Int32(range.count), image, image + imageCount, packed, nil,
                                  sums + range.lowerBound * width)
                let target = context.output + range.lowerBound * width
                withUnsafePointer(to: scale) { scale in
                    h5t_hybrid_finish(order.kernelOrder, Int32(range.count), Int32(width), sums + range.lowerBound * width, scale, nil,
                                      nil, 0, weightScales, hasBias ? context.inputs[2] : nil, target)
                }
                applyActivation(activation, target, count: range.count * width)
            }
        }
    }
}
