import H5ToLiteIR

// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on integers, in three stages:
// the input becomes 16-bit values with its zero point already subtracted (int8
// activations) or quantized on the fly (hybrid files' float activations); int32
// sums of products with the weights follow; an output stage turns each sum into
// an int8 value (requantized per channel) or, for hybrid files, a float.

/// How a kernel's input becomes zero-centred 16-bit integers.
enum IntegerInput: Equatable {
    /// int8 activations: q - zeroPoint.
    case int8(zeroPoint: Int32)
    /// float activations quantized per image (or per row for FULLY_CONNECTED)
    /// as TFLite's hybrid kernels do: asymmetrically, or symmetrically where a
    /// convolution's weights share one scale.
    case asymmetric
    case symmetric

    /// Writes `count` centred values of one image or row to `target`; returns
    /// the scale that turns them back into reals (1 for int8 inputs, whose scale
    /// lives in the output stage).
    @inline(__always)
    func center(_ context: KernelContext, from start: Int, count: Int, into target: UnsafeMutablePointer<Int16>) -> Float {
        switch self {
        case .int8(let zeroPoint):
            let source = context.input(0, as: Int8.self) + start
            for i in 0..<count { target[i] = Int16(truncatingIfNeeded: Int32(source[i]) - zeroPoint) }
            return 1
        case .asymmetric:
            return quantizeAsymmetrically(context.inputs[0] + start, count: count, into: target)
        case .symmetric:
            return quantizeSymmetrically(context.inputs[0] + start, count: count, into: target)
        }
    }
}

/// TFLite's AsymmetricQuantizeFloats: the range [min(0, lowest), max(0, highest)]
/// mapped onto [-128, 127] with the zero point nearer in error, values rounded
/// half away from zero. Writes q - zeroPoint and returns the scale.
func quantizeAsymmetrically(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Int16>) -> Float {
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
    let zeroPoint: Int32 = zeroPointReal <= -128 ? -128 : zeroPointReal >= 127 ? 127 : Int32(zeroPointReal.rounded(.toNearestOrAwayFromZero))
    let floatScale = Float(scale)
    let inverse = 1 / floatScale
    let offset = Float(zeroPoint)
    for i in 0..<count {
        let q = min(max(Int32((offset + values[i] * inverse).rounded(.toNearestOrAwayFromZero)), -128), 127)
        target[i] = Int16(q - zeroPoint)
    }
    return floatScale
}

/// TFLite's SymmetricQuantizeFloats: the largest magnitude maps to 127, values
/// rounded half away from zero into [-127, 127]. Returns the scale.
func quantizeSymmetrically(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Int16>) -> Float {
    var lowest = Float.infinity, highest = -Float.infinity
    for i in 0..<count {
        lowest = min(lowest, values[i])
        highest = max(highest, values[i])
    }
    let range = count > 0 ? max(abs(lowest), abs(highest)) : 0
    guard range > 0 else {
        target.update(repeating: 0, count: count)
        return 1
    }
    let inverse = 127 / range
    for i in 0..<count {
        target[i] = Int16(min(max(Int32((values[i] * inverse).rounded(.toNearestOrAwayFromZero)), -127), 127))
    }
    return range / 127
}

/// How int32 sums become outputs, channel by channel.
enum IntegerOutput {
    /// int8: (sum + bias) times the channel's multiplier, plus the output zero
    /// point, clamped to the fused activation's bounds.
    case int8(multipliers: [QuantizedMultiplier], zeroPoint: Int32, bounds: ClosedRange<Int32>)
    /// float (hybrid files): the sum times input scale and weight scale, plus the
    /// float bias, then the fused activation. `scales` holds each channel's weight
    /// scale; depthwise kernels multiply in TFLite's other order.
    case float(scales: [Float], activation: FusedActivation, depthwiseOrder: Bool)

    /// Finishes `count` sums of one output pixel or row, channels 0..<count.
    @inline(__always)
    func finish(_ sums: UnsafePointer<Int32>, count: Int, inputScale: Float, bias: UnsafeRawPointer?,
                into output: UnsafeMutableRawPointer) {
        switch self {
        case .int8(let multipliers, let zeroPoint, let bounds):
            let target = output.assumingMemoryBound(to: Int8.self)
            let biases = bias?.assumingMemoryBound(to: Int32.self)
            for c in 0..<count {
                let value = multipliers[c].apply(sums[c] &+ (biases?[c] ?? 0)) &+ zeroPoint
                target[c] = Int8(truncatingIfNeeded: min(max(value, bounds.lowerBound), bounds.upperBound))
            }
        case .float(let scales, let activation, let depthwiseOrder):
            let target = output.assumingMemoryBound(to: Float.self)
            let biases = bias?.assumingMemoryBound(to: Float.self)
            for c in 0..<count {
                let scaled = depthwiseOrder ? Float(sums[c]) * inputScale * scales[c] : Float(sums[c]) * (scales[c] * inputScale)
                target[c] = scaled + (biases?[c] ?? 0)
            }
            applyActivation(activation, target, count: count)
        }
    }

    var elementSize: Int {
        if case .int8 = self { return 1 }
        return 4
    }
}

/// The weights of a convolution or dense layer as 16-bit values with their zero
/// points subtracted (TFLite's filter offset; zero for symmetric weights).
func centredWeights(_ graph: Graph, _ id: ValueID) throws -> [Int16] {
    guard case .int8(let values) = graph[id].constant else {
        throw InterpreterError("weights '\(graph[id].name)' must be an int8 constant")
    }
    let zeroPoints = graph[id].quantization?.zeroPoints ?? [0]
    let zeroPoint = zeroPoints.count == 1 ? Int16(zeroPoints[0]) : 0
    return values.map { Int16($0) - zeroPoint }
}

/// Sum of products of two 16-bit vectors in 32 bits.
@inline(__always)
func dot(_ a: UnsafePointer<Int16>, _ b: UnsafePointer<Int16>, _ count: Int) -> Int32 {
    var sum: Int32 = 0
    for i in 0..<count { sum &+= Int32(a[i]) &* Int32(b[i]) }
    return sum
}

/// CONV_2D on integers: im2col patches of the centred input times the centred
/// OHWI filter, a tile of output pixels at a time.
struct IntegerConvolutionKernel: Kernel {
    let geometry: WindowGeometry
    let depth: Int
    let outputChannels: Int
    let weights: [Int16]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int
    let tileRows = 16

    private var imageCount: Int { geometry.inputHeight * geometry.inputWidth * geometry.inputChannels }
    private var pixels: Int { geometry.outputHeight * geometry.outputWidth }
    private var chunks: Int { chunkCount((pixels + tileRows - 1) / tileRows, threads: threads) }
    /// Per chunk: a tile of patches (16-bit) and of sums (32-bit).
    private var chunkWords: Int { wordCount(tileRows * depth, size: 2) + tileRows * outputChannels }

    var scratchCount: Int { wordCount(imageCount, size: 2) + chunks * chunkWords }

    func run(_ context: KernelContext) {
        let image = context.scratch(as: Int16.self, count: imageCount)
        let inputScale = input.center(context, from: 0, count: imageCount, into: image)
        let tiles = (pixels + tileRows - 1) / tileRows
        let chunkBase = UnsafeMutableRawPointer(context.scratch) + 4 * wordCount(imageCount, size: 2)
        parallelFor(tiles, threads: threads) { chunk, range in
            let base = chunkBase + 4 * chunk * chunkWords
            let patches = base.bindMemory(to: Int16.self, capacity: tileRows * depth)
            let sums = (base + 4 * wordCount(tileRows * depth, size: 2)).bindMemory(to: Int32.self, capacity: tileRows * outputChannels)
            for tile in range {
                let rows = (tile * tileRows)..<min(pixels, (tile + 1) * tileRows)
                gatherPatches(UnsafePointer(image), rows: rows, into: patches)
                multiply(UnsafePointer(patches), rows: rows.count, into: sums)
                for row in 0..<rows.count {
                    output.finish(sums + row * outputChannels, count: outputChannels, inputScale: inputScale,
                                  bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                                  into: UnsafeMutableRawPointer(context.output) + (rows.lowerBound + row) * outputChannels * output.elementSize)
                }
            }
        }
    }

    private func multiply(_ patches: UnsafePointer<Int16>, rows: Int, into sums: UnsafeMutablePointer<Int32>) {
        weights.withUnsafeBufferPointer { filter in
            for row in 0..<rows {
                let patch = patches + row * depth
                for channel in 0..<outputChannels {
                    sums[row * outputChannels + channel] = dot(patch, filter.baseAddress! + channel * depth, depth)
                }
            }
        }
    }

    /// The centred input under each output pixel of `rows`; padding is the
    /// zero point, which centred is 0.
    private func gatherPatches(_ image: UnsafePointer<Int16>, rows: Range<Int>, into patches: UnsafeMutablePointer<Int16>) {
        let g = geometry
        let channels = g.inputChannels
        var target = patches
        for pixel in rows {
            let top = g.inputRow(pixel / g.outputWidth)
            let left = g.inputColumn(pixel % g.outputWidth)
            for ky in 0..<g.kernelHeight {
                let y = top + ky * g.dilationHeight
                for kx in 0..<g.kernelWidth {
                    let x = left + kx * g.dilationWidth
                    if y >= 0, y < g.inputHeight, x >= 0, x < g.inputWidth {
                        target.update(from: image + (y * g.inputWidth + x) * channels, count: channels)
                    } else {
                        target.update(repeating: 0, count: channels)
                    }
                    target += channels
                }
            }
        }
    }
}

/// DEPTHWISE_CONV_2D on integers: each output channel c*m+j sums centred input
/// channel c under the window times its own tap.
struct IntegerDepthwiseKernel: Kernel {
    let geometry: WindowGeometry
    let multiplier: Int
    let weights: [Int32]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int

    private var imageCount: Int { geometry.inputHeight * geometry.inputWidth * geometry.inputChannels }
    private var width: Int { geometry.inputChannels * multiplier }
    private var chunks: Int { chunkCount(geometry.outputHeight, threads: threads) }

    var scratchCount: Int { wordCount(imageCount, size: 2) + chunks * width }

    func run(_ context: KernelContext) {
        let image = context.scratch(as: Int16.self, count: imageCount)
        let inputScale = input.center(context, from: 0, count: imageCount, into: image)
        let sumBase = UnsafeMutableRawPointer(context.scratch) + 4 * wordCount(imageCount, size: 2)
        let rowLength = geometry.outputWidth * width * output.elementSize
        parallelFor(geometry.outputHeight, threads: threads) { chunk, range in
            let sums = (sumBase + 4 * chunk * width).bindMemory(to: Int32.self, capacity: width)
            for y in range {
                for x in 0..<geometry.outputWidth {
                    accumulate(UnsafePointer(image), y: y, x: x, into: sums)
                    output.finish(sums, count: width, inputScale: inputScale,
                                  bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                                  into: UnsafeMutableRawPointer(context.output) + y * rowLength + x * width * output.elementSize)
                }
            }
        }
    }

    private func accumulate(_ image: UnsafePointer<Int16>, y: Int, x: Int, into sums: UnsafeMutablePointer<Int32>) {
        let g = geometry
        let channels = g.inputChannels
        sums.update(repeating: 0, count: width)
        weights.withUnsafeBufferPointer { filter in
            for ky in 0..<g.kernelHeight {
                let iy = g.inputRow(y) + ky * g.dilationHeight
                guard iy >= 0, iy < g.inputHeight else { continue }
                for kx in 0..<g.kernelWidth {
                    let ix = g.inputColumn(x) + kx * g.dilationWidth
                    guard ix >= 0, ix < g.inputWidth else { continue }
                    let source = image + (iy * g.inputWidth + ix) * channels
                    let taps = filter.baseAddress! + (ky * g.kernelWidth + kx) * width
                    if multiplier == 1 {
                        for c in 0..<channels { sums[c] &+= Int32(source[c]) &* taps[c] }
                    } else {
                        for c in 0..<channels {
                            for j in 0..<multiplier { sums[c * multiplier + j] &+= Int32(source[c]) &* taps[c * multiplier + j] }
                        }
                    }
                }
            }
        }
    }
}

/// FULLY_CONNECTED on integers: each row of the input (quantized on its own in
/// hybrid files) times the (out, in) weights.
struct IntegerFullyConnectedKernel: Kernel {
    let rows: Int
    let depth: Int
    let units: Int
    let weights: [Int16]
    let input: IntegerInput
    let output: IntegerOutput
    let hasBias: Bool
    let threads: Int

    var scratchCount: Int { wordCount(rows * depth, size: 2) + rows * units }

    func run(_ context: KernelContext) {
        let centred = context.scratch(as: Int16.self, count: rows * depth)
        let sums = (UnsafeMutableRawPointer(context.scratch) + 4 * wordCount(rows * depth, size: 2))
            .bindMemory(to: Int32.self, capacity: rows * units)
        let scales = (0..<rows).map { input.center(context, from: $0 * depth, count: depth, into: centred + $0 * depth) }
        weights.withUnsafeBufferPointer { filter in
            parallelFor(units, threads: threads, grain: max(1, (1 << 16) / max(depth, 1))) { _, range in
                for row in 0..<rows {
                    for unit in range {
                        sums[row * units + unit] = dot(centred + row * depth, filter.baseAddress! + unit * depth, depth)
                    }
                }
            }
        }
        for row in 0..<rows {
            output.finish(sums + row * units, count: units, inputScale: scales[row],
                          bias: hasBias ? UnsafeRawPointer(context.inputs[2]) : nil,
                          into: UnsafeMutableRawPointer(context.output) + row * units * output.elementSize)
        }
    }
}
