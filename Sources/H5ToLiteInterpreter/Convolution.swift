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
