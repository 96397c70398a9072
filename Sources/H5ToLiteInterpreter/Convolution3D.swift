import H5ToLiteCore
import H5ToLiteIR

/// Sizes of a window sliding over NDHWC volumes, with the padding TFLite puts before the
/// first plane, row and column: per axis the rule CONV_2D uses (ComputePadding3DValues).
struct VolumeGeometry {
    let batches: Int
    /// Depth, height and width of the input, the output and the filter.
    let inputSize, outputSize, kernel: [Int]
    let stride, dilation, padBefore: [Int]
    let inputChannels: Int

    init(input: [Int], filter: [Int], output: [Int], window: Window) {
        batches = input[0]
        inputSize = Array(input[1...3])
        outputSize = Array(output[1...3])
        kernel = Array(filter[0...2])
        stride = window.stride
        dilation = window.dilation
        inputChannels = input[4]
        padBefore = (0..<3).map { axis in
            paddingBefore(input: input[1 + axis], output: output[1 + axis], kernel: filter[axis],
                          stride: window.stride[axis], dilation: window.dilation[axis])
        }
    }

    var outputVoxels: Int { batches * outputSize.reduce(1, *) }
    /// Length of one patch: the filter's D*H*W*I, the order of its rows.
    var patchLength: Int { kernel.reduce(1, *) * inputChannels }

    /// The input plane, row and column under the window's first tap at output voxel `voxel`,
    /// before clipping to the input.
    func windowOrigin(_ voxel: Int) -> (Int, Int, Int) {
        let x = voxel % outputSize[2]
        let y = (voxel / outputSize[2]) % outputSize[1]
        let z = (voxel / (outputSize[2] * outputSize[1])) % outputSize[0]
        return (z * stride[0] - padBefore[0], y * stride[1] - padBefore[1], x * stride[2] - padBefore[2])
    }

    /// Writes the input patch under each output voxel of `voxels` (indices over all batches),
    /// zeros where the window hangs over the padding: the rows pruning's refit fits on.
    func gatherPatches(_ input: UnsafePointer<Float>, voxels: Range<Int>, into patches: UnsafeMutablePointer<Float>) {
        let channels = inputChannels
        let (depth, height, width) = (inputSize[0], inputSize[1], inputSize[2])
        let rowLength = kernel[2] * channels
        let planeLength = kernel[1] * rowLength
        var target = patches
        for voxel in voxels {
            let volume = input + (voxel / outputSize.reduce(1, *)) * depth * height * width * channels
            let (front, top, left) = windowOrigin(voxel)
            for kz in 0..<kernel[0] {
                let iz = front + kz * dilation[0]
                guard iz >= 0, iz < depth else {
                    target.update(repeating: 0, count: planeLength)
                    target += planeLength
                    continue
                }
                for ky in 0..<kernel[1] {
                    let iy = top + ky * dilation[1]
                    guard iy >= 0, iy < height else {
                        target.update(repeating: 0, count: rowLength)
                        target += rowLength
                        continue
                    }
                    let row = volume + (iz * height + iy) * width * channels
                    for kx in 0..<kernel[2] {
                        let ix = left + kx * dilation[2]
                        if ix >= 0, ix < width {
                            target.update(from: row + ix * channels, count: channels)
                        } else {
                            target.update(repeating: 0, count: channels)
                        }
                        target += channels
                    }
                }
            }
        }
    }
}

extension ProductRows {
    /// CONV_3D's rows: one per output voxel (of every volume in the batch), reading per filter
    /// tap the input voxel's channels, or zeros in the padding (-1), as CONV_2D's read pixels.
    init(_ g: VolumeGeometry) {
        count = g.outputVoxels
        taps = g.kernel.reduce(1, *)
        channels = g.inputChannels
        var offsets: [Int32] = []
        offsets.reserveCapacity(count * taps)
        let (depth, height, width) = (g.inputSize[0], g.inputSize[1], g.inputSize[2])
        for voxel in 0..<count {
            let (front, top, left) = g.windowOrigin(voxel)
            let volume = voxel / g.outputSize.reduce(1, *) * depth * height * width
            for kz in 0..<g.kernel[0] {
                let iz = front + kz * g.dilation[0]
                for ky in 0..<g.kernel[1] {
                    let iy = top + ky * g.dilation[1]
                    for kx in 0..<g.kernel[2] {
                        let ix = left + kx * g.dilation[2]
                        let inside = iz >= 0 && iz < depth && iy >= 0 && iy < height && ix >= 0 && ix < width
                        offsets.append(inside ? Int32((volume + (iz * height + iy) * width + ix) * channels) : -1)
                    }
                }
            }
        }
        self.offsets = offsets
    }
}

/// A DHWIO filter as the product's weights: one row of D*H*W*I per output channel, taps in the
/// order the rows read them.
func conv3dWeightRows(_ filter: [Float], outputs: Int) -> [Float] {
    let depth = filter.count / max(outputs, 1)
    var rows = [Float](repeating: 0, count: filter.count)
    for i in 0..<depth {
        for o in 0..<outputs { rows[o * depth + i] = filter[i * outputs + o] }
    }
    return rows
}

/// CONV_3D's patch rows, in the order of its DHWIO filter's rows (D*H*W*I of them).
public struct VolumePatches: PatchRows {
    let geometry: VolumeGeometry
    public var depth: Int { geometry.patchLength }
    public var pixelsPerSample: Int { geometry.outputSize.reduce(1, *) }

    /// `input` and `output` may hold several samples along their first axis.
    public init(input: [Int], filter: [Int], output: [Int], window: Window) {
        geometry = VolumeGeometry(input: input, filter: filter, output: output, window: window)
    }

    public func rows(of input: Tensor, sample: Int, pixels: [Int]) -> [Float] {
        var rows = [Float](repeating: 0, count: pixels.count * depth)
        input.data.withUnsafeBufferPointer { source in
            rows.withUnsafeMutableBufferPointer { target in
                for (row, pixel) in pixels.enumerated() {
                    let voxel = sample * pixelsPerSample + pixel
                    geometry.gatherPatches(source.baseAddress!, voxels: voxel..<(voxel + 1), into: target.baseAddress! + row * depth)
                }
            }
        }
        return rows
    }
}
