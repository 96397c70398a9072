import COpenBLAS
import H5ToLiteCore
import H5ToLiteIR

/// Sizes of a window sliding over one NHWC image (batch 1), with the padding
/// TFLite puts before the first row and column.
struct WindowGeometry {
    let inputHeight, inputWidth, inputChannels: Int
    let outputHeight, outputWidth: Int
    let kernelHeight, kernelWidth: Int
    let strideHeight, strideWidth: Int
    let dilationHeight, dilationWidth: Int
    let padTop, padLeft: Int

    init(input: [Int], output: [Int], kernel: [Int], window: Window) {
        inputHeight = input[1]
        inputWidth = input[2]
        inputChannels = input[3]
        outputHeight = output[1]
        outputWidth = output[2]
        kernelHeight = kernel[0]
        kernelWidth = kernel[1]
        strideHeight = window.stride[0]
        strideWidth = window.stride[1]
        dilationHeight = window.dilation[0]
        dilationWidth = window.dilation[1]
        padTop = paddingBefore(input: input[1], output: output[1], kernel: kernel[0], stride: window.stride[0], dilation: window.dilation[0])
        padLeft = paddingBefore(input: input[2], output: output[2], kernel: kernel[1], stride: window.stride[1], dilation: window.dilation[1])
    }

    /// First input row (or column) under output row `y`, before clipping.
    func inputRow(_ y: Int) -> Int { y * strideHeight - padTop }
    func inputColumn(_ x: Int) -> Int { x * strideWidth - padLeft }
}

/// TFLite's ComputePaddingWithOffset: half the padding the window needs goes
/// before, the odd unit after. VALID windows need none, so they get zero.
func paddingBefore(input: Int, output: Int, kernel: Int, stride: Int, dilation: Int) -> Int {
    let effective = (kernel - 1) * dilation + 1
    return max((output - 1) * stride + effective - input, 0) / 2
}

/// CONV_2D as a matrix product: each output pixel is a row of patches (im2col)
/// times the OHWI filter, whose rows are already the patches' layout. A 1x1,
/// stride-1 convolution needs no patches: the input itself is the matrix.
struct ConvolutionKernel: Kernel {
    let geometry: WindowGeometry
    /// Length of one patch: the filter's H*W*I.
    let depth: Int
    let isPointwise: Bool
    let outputChannels: Int
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int
    /// Output pixels per matrix product: bounds the patch buffer per chunk.
    let tileRows: Int

    init(input: [Int], filter: [Int], output: [Int], window: Window, hasBias: Bool, activation: FusedActivation, threads: Int) {
        let geometry = WindowGeometry(input: input, output: output, kernel: [filter[1], filter[2]], window: window)
        let depth = filter[1] * filter[2] * filter[3]
        let pointwise = geometry.kernelHeight == 1 && geometry.kernelWidth == 1 && geometry.strideHeight == 1
            && geometry.strideWidth == 1 && geometry.padTop == 0 && geometry.padLeft == 0
        let pixels = output[1] * output[2]
        let perChunk = (pixels + 4 * threads - 1) / (4 * threads)
        self.geometry = geometry
        self.depth = depth
        self.isPointwise = pointwise
        outputChannels = filter[0]
        self.hasBias = hasBias
        self.activation = activation
        self.threads = threads
        // At most about 1 MB of patches per product, so they stay in cache while the
        // product reads them; at least 32 rows, below which a product runs slowly.
        let cached = pointwise ? perChunk : (1 << 18) / max(depth, 1)
        tileRows = max(1, min(32, pixels), min(perChunk, cached))
    }

    var scratchCount: Int {
        let tiles = (geometry.outputHeight * geometry.outputWidth + tileRows - 1) / tileRows
        return isPointwise ? 0 : chunkCount(tiles, threads: threads) * tileRows * depth
    }

    func run(_ context: KernelContext) {
        let pixels = geometry.outputHeight * geometry.outputWidth
        let tiles = (pixels + tileRows - 1) / tileRows
        parallelFor(tiles, threads: threads) { chunk, range in
            let patches = context.scratch + chunk * tileRows * depth
            for tile in range {
                let rows = (tile * tileRows)..<min(pixels, (tile + 1) * tileRows)
                let left: UnsafePointer<Float>
                if isPointwise {
                    left = context.inputs[0] + rows.lowerBound * depth
                } else {
                    gatherPatches(geometry, context.inputs[0], rows: rows, into: patches)
                    left = UnsafePointer(patches)
                }
                multiply(left, rows: rows, context: context)
            }
        }
    }

    private func multiply(_ left: UnsafePointer<Float>, rows: Range<Int>, context: KernelContext) {
        let result = context.output + rows.lowerBound * outputChannels
        if hasBias {
            for row in 0..<rows.count {
                (result + row * outputChannels).update(from: context.inputs[2], count: outputChannels)
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(outputChannels), Int32(depth),
                    1, left, Int32(depth), context.inputs[1], Int32(depth), hasBias ? 1 : 0, result, Int32(outputChannels))
        applyActivation(activation, result, count: rows.count * outputChannels)
    }
}

/// DEPTHWISE_CONV_2D, computed directly: each output channel c*m+j sums input
/// channel c under the window, times its own filter tap.
struct DepthwiseKernel: Kernel {
    let geometry: WindowGeometry
    let multiplier: Int
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int

    init(input: [Int], filter: [Int], output: [Int], window: Window, multiplier: Int, hasBias: Bool,
         activation: FusedActivation, threads: Int) {
        geometry = WindowGeometry(input: input, output: output, kernel: [filter[1], filter[2]], window: window)
        self.multiplier = multiplier
        self.hasBias = hasBias
        self.activation = activation
        self.threads = threads
    }

    func run(_ context: KernelContext) {
        let g = geometry
        let rowLength = g.outputWidth * g.inputChannels * multiplier
        parallelFor(g.outputHeight, threads: threads) { _, range in
            for y in range {
                let row = context.output + y * rowLength
                for x in 0..<g.outputWidth {
                    accumulate(context, y: y, x: x, into: row + x * g.inputChannels * multiplier)
                }
                applyActivation(activation, row, count: rowLength)
            }
        }
    }

    /// One output pixel; the bias goes last, as in TFLite's kernel.
    private func accumulate(_ context: KernelContext, y: Int, x: Int, into pixel: UnsafeMutablePointer<Float>) {
        depthwiseWindowSums(geometry, multiplier: multiplier, image: context.inputs[0], filter: context.inputs[1],
                            y: y, x: x, into: pixel)
        if hasBias {
            for c in 0..<geometry.inputChannels * multiplier { pixel[c] += context.inputs[2][c] }
        }
    }
}

/// DEPTHWISE_CONV_2D's sums at output pixel (y, x): output channel c*m+j adds input channel c
/// under the window times its own tap, for the float kernel and (on centred values) the
/// integer one.
func depthwiseWindowSums(_ g: WindowGeometry, multiplier: Int, image: UnsafePointer<Float>, filter: UnsafePointer<Float>,
                         y: Int, x: Int, into sums: UnsafeMutablePointer<Float>) {
    let channels = g.inputChannels
    let width = channels * multiplier
    sums.update(repeating: 0, count: width)
    for ky in 0..<g.kernelHeight {
        let iy = g.inputRow(y) + ky * g.dilationHeight
        guard iy >= 0, iy < g.inputHeight else { continue }
        for kx in 0..<g.kernelWidth {
            let ix = g.inputColumn(x) + kx * g.dilationWidth
            guard ix >= 0, ix < g.inputWidth else { continue }
            let source = image + (iy * g.inputWidth + ix) * channels
            let taps = filter + (ky * g.kernelWidth + kx) * width
            if multiplier == 1 {
                for c in 0..<channels { sums[c] += source[c] * taps[c] }
            } else {
                for c in 0..<channels {
                    for j in 0..<multiplier { sums[c * multiplier + j] += source[c] * taps[c * multiplier + j] }
                }
            }
        }
    }
}

/// FULLY_CONNECTED: rows of the input times the (out, in) weights. A single row
/// is a matrix-vector product, split across workers by output units.
struct FullyConnectedKernel: Kernel {
    let rows: Int
    let depth: Int
    let units: Int
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int

    func run(_ context: KernelContext) {
        let output = context.output
        if hasBias {
            for row in 0..<rows { (output + row * units).update(from: context.inputs[2], count: units) }
        }
        let beta: Float = hasBias ? 1 : 0
        if rows == 1 {
            parallelFor(units, threads: threads, grain: max(1, (1 << 18) / max(depth, 1))) { _, range in
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(range.count), Int32(depth), 1,
                            context.inputs[1] + range.lowerBound * depth, Int32(depth), context.inputs[0], 1,
                            beta, output + range.lowerBound, 1)
            }
        } else {
            parallelFor(rows, threads: threads) { _, range in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(range.count), Int32(units), Int32(depth),
                            1, context.inputs[0] + range.lowerBound * depth, Int32(depth), context.inputs[1], Int32(depth),
                            beta, output + range.lowerBound * units, Int32(units))
            }
        }
        applyActivation(activation, output, count: rows * units)
    }
}

/// Writes the input patch under each output pixel of `rows` (im2col), zeros where the
/// window hangs over the padding. Integer convolutions pass centred inputs, whose
/// padding value (the zero point) is 0 too.
func gatherPatches(_ g: WindowGeometry, _ input: UnsafePointer<Float>, rows: Range<Int>,
                   into patches: UnsafeMutablePointer<Float>) {
    let channels = g.inputChannels
    var target = patches
    for pixel in rows {
        let top = g.inputRow(pixel / g.outputWidth)
        let left = g.inputColumn(pixel % g.outputWidth)
        for ky in 0..<g.kernelHeight {
            let y = top + ky * g.dilationHeight
            guard y >= 0, y < g.inputHeight else {
                target.update(repeating: 0, count: g.kernelWidth * channels)
                target += g.kernelWidth * channels
                continue
            }
            for kx in 0..<g.kernelWidth {
                let x = left + kx * g.dilationWidth
                if x >= 0, x < g.inputWidth {
                    target.update(from: input + (y * g.inputWidth + x) * channels, count: channels)
                } else {
                    target.update(repeating: 0, count: channels)
                }
                target += channels
            }
        }
    }
}

/// The patch rows a convolution multiplies with its filter, for chosen output pixels of one
/// sample: what pruning's refit fits the kept weights on, laid out as the interpreter's.
public protocol PatchRows {
    /// Length of one row.
    var depth: Int { get }
    var pixelsPerSample: Int { get }
    /// Rows for `pixels` (indices into the sample's output, row-major) of sample `sample`.
    func rows(of input: Tensor, sample: Int, pixels: [Int]) -> [Float]
}

/// CONV_2D's patch rows, in the order of its OHWI filter's rows.
public struct ConvolutionPatches: PatchRows {
    let geometry: WindowGeometry
    /// Length of one row: the filter's H*W*I.
    public let depth: Int
    public let pixelsPerSample: Int

    public init(input: [Int], filter: [Int], output: [Int], window: Window) {
        geometry = WindowGeometry(input: input, output: output, kernel: [filter[1], filter[2]], window: window)
        depth = filter[1] * filter[2] * filter[3]
        pixelsPerSample = output[1] * output[2]
    }

    /// Rows for `pixels` (indices into the sample's output, row-major) of sample `sample`.
    public func rows(of input: Tensor, sample: Int, pixels: [Int]) -> [Float] {
        let sampleSize = geometry.inputHeight * geometry.inputWidth * geometry.inputChannels
        var rows = [Float](repeating: 0, count: pixels.count * depth)
        input.data.withUnsafeBufferPointer { source in
            rows.withUnsafeMutableBufferPointer { target in
                for (row, pixel) in pixels.enumerated() {
                    gatherPatches(geometry, source.baseAddress! + sample * sampleSize, rows: pixel..<(pixel + 1),
                                  into: target.baseAddress! + row * depth)
                }
            }
        }
        return rows
    }
}
