import COpenBLAS
import H5ToLiteCore
import H5ToLiteIR

// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on integers, in three stages:
// the input becomes zero-centred integers (int8 activations less their zero
// point, or hybrid files' float activations quantized on the fly); int32 sums of
// products with the centred weights follow; an output stage turns each sum into
// an int8 value (requantized per channel) or, for hybrid files, a float.
//
// The sums are computed with float arithmetic, which is exact here: centred
// values lie in [-255, 255] and weights in [-255, 255], so a product is below
// 2^16 in magnitude, and a sum of a few hundred of them, in any order, stays
// below 2^24, where every integer is a float. Longer sums are cut into pieces
// of that length and the pieces added as integers. This lets OpenBLAS's float
// matrix products do the work.

/// How many products of centred inputs (at most 255 in magnitude) and these
/// weights a float sums exactly: at least 258, 518 for symmetric int8 weights.
func exactTerms(_ weights: [Float]) -> Int {
    let largest = weights.reduce(1) { max($0, abs($1)) }
    return (1 << 24) / (255 * Int(largest))
}

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

/// sums[r * sumStride + u] = Σ_k left[r][k] * right[u][k] for centred integer
/// matrices (rows × depth and units × depth, row-major), exactly, given that
/// `terms` products sum exactly in float. `partial` holds rows × units floats.
func exactProducts(_ left: UnsafePointer<Float>, _ right: UnsafePointer<Float>, rows: Int, units: Int, depth: Int, terms: Int,
                   into sums: UnsafeMutablePointer<Int32>, sumStride: Int, partial: UnsafeMutablePointer<Float>) {
    for row in 0..<rows { (sums + row * sumStride).update(repeating: 0, count: units) }
    for start in stride(from: 0, to: depth, by: terms) {
        let length = min(terms, depth - start)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(units), Int32(length),
                    1, left + start, Int32(depth), right + start, Int32(depth), 0, partial, Int32(units))
        for row in 0..<rows {
            let target = sums + row * sumStride, source = partial + row * units
            for u in 0..<units { target[u] &+= Int32(source[u]) }
        }
    }
}

/// CONV_2D on integers: im2col patches of the centred input times the centred
/// OHWI filter, a tile of output pixels at a time.
struct IntegerConvolutionKernel: Kernel {
    let geometry: WindowGeometry
    let depth: Int
    let outputChannels: Int
    let weights: [Float]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int
    /// Output pixels per matrix product.
    let tileRows: Int
    /// Whether float input is quantized pixel by pixel rather than as one image:
    /// XNNPACK runs a 1x1, stride-1 convolution as a dense layer over pixels.
    let quantizesPixels: Bool
    /// Products a float sums exactly.
    let terms: Int

    init(geometry: WindowGeometry, depth: Int, outputChannels: Int, weights: [Float], input: IntegerInput,
         output: IntegerOutput, hasBias: Bool, threads: Int) {
        self.geometry = geometry
        self.depth = depth
        self.outputChannels = outputChannels
        self.weights = weights
        self.input = input
        self.output = output
        self.hasBias = hasBias
        self.threads = threads
        let pixels = geometry.outputHeight * geometry.outputWidth
        let perChunk = (pixels + 4 * threads - 1) / (4 * threads)
        // About 1 MB of patches per product, and at least 32 rows where there are.
        tileRows = max(1, min(32, pixels), min(perChunk, (1 << 18) / max(depth, 1)))
        let pointwise = geometry.kernelHeight == 1 && geometry.kernelWidth == 1 && geometry.strideHeight == 1
            && geometry.strideWidth == 1 && geometry.inputHeight == geometry.outputHeight && geometry.inputWidth == geometry.outputWidth
        quantizesPixels = input == .xnnpack && pointwise && geometry.inputChannels + outputChannels > 2
        terms = exactTerms(weights)
    }

    private var imageCount: Int { geometry.inputHeight * geometry.inputWidth * geometry.inputChannels }
    private var pixels: Int { geometry.outputHeight * geometry.outputWidth }
    private var chunks: Int { chunkCount((pixels + tileRows - 1) / tileRows, threads: threads) }
    /// Per chunk: a tile of patches, of partial float sums and of int32 sums.
    private var chunkWords: Int { tileRows * depth + 2 * tileRows * outputChannels }

    var scratchCount: Int { imageCount + chunks * chunkWords }

    func run(_ context: KernelContext) {
        let image = context.scratch
        let channels = geometry.inputChannels
        let inputScales = quantizesPixels
            ? (0..<pixels).map { input.center(context, from: $0 * channels, count: channels, into: image + $0 * channels) }
            : [input.center(context, from: 0, count: imageCount, into: image)]
        let tiles = (pixels + tileRows - 1) / tileRows
        parallelFor(tiles, threads: threads) { chunk, range in
            let patches = context.scratch + imageCount + chunk * chunkWords
            let partial = patches + tileRows * depth
            let sums = UnsafeMutableRawPointer(partial + tileRows * outputChannels).bindMemory(to: Int32.self, capacity: tileRows * outputChannels)
            for tile in range {
                let rows = (tile * tileRows)..<min(pixels, (tile + 1) * tileRows)
                gatherPatches(geometry, UnsafePointer(image), rows: rows, into: patches)
                weights.withUnsafeBufferPointer { filter in
                    exactProducts(patches, filter.baseAddress!, rows: rows.count, units: outputChannels, depth: depth,
                                  terms: terms, into: sums, sumStride: outputChannels, partial: partial)
                }
                for row in 0..<rows.count {
                    let pixel = rows.lowerBound + row
                    output.finish(sums + row * outputChannels, count: outputChannels,
                                  inputScale: inputScales[quantizesPixels ? pixel : 0],
                                  bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                                  into: UnsafeMutableRawPointer(context.output) + pixel * outputChannels * output.elementSize)
                }
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

/// FULLY_CONNECTED on integers: each row of the input (quantized on its own in
/// hybrid files) times the (out, in) weights, split across workers by units.
struct IntegerFullyConnectedKernel: Kernel {
    let rows: Int
    let depth: Int
    let units: Int
    let weights: [Float]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int
    /// Products a float sums exactly.
    let terms: Int

    private var chunks: Int { chunkCount(units, threads: threads, grain: grain) }
    private var grain: Int { max(1, (1 << 16) / max(depth, 1)) }

    var scratchCount: Int { rows * depth + rows * units + chunks * rows * units }

    func run(_ context: KernelContext) {
        let centred = context.scratch
        let sums = UnsafeMutableRawPointer(centred + rows * depth).bindMemory(to: Int32.self, capacity: rows * units)
        let partials = context.scratch + rows * depth + rows * units
        let scales = (0..<rows).map { input.center(context, from: $0 * depth, count: depth, into: centred + $0 * depth) }
        weights.withUnsafeBufferPointer { filter in
            parallelFor(units, threads: threads, grain: grain) { chunk, range in
                exactProducts(centred, filter.baseAddress! + range.lowerBound * depth, rows: rows, units: range.count,
                              depth: depth, terms: terms, into: sums + range.lowerBound, sumStride: units,
                              partial: partials + chunk * rows * units)
            }
        }
        for row in 0..<rows {
            output.finish(sums + row * units, count: units, inputScale: scales[row],
                          bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                          into: UnsafeMutableRawPointer(context.output) + row * units * output.elementSize)
        }
    }
}
