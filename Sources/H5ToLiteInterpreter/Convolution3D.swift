import COpenBLAS
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
    /// A 1x1x1 window with stride 1 reads each input voxel as it is: no patches needed.
    var isPointwise: Bool { kernel == [1, 1, 1] && stride == [1, 1, 1] }

    /// Writes the input patch under each output voxel of `voxels` (indices over all batches),
    /// zeros where the window hangs over the padding.
    func gatherPatches(_ input: UnsafePointer<Float>, voxels: Range<Int>, into patches: UnsafeMutablePointer<Float>) {
        let channels = inputChannels
        let (depth, height, width) = (inputSize[0], inputSize[1], inputSize[2])
        let rowLength = kernel[2] * channels
        let planeLength = kernel[1] * rowLength
        var target = patches
        for voxel in voxels {
            let x = voxel % outputSize[2]
            let y = (voxel / outputSize[2]) % outputSize[1]
            let z = (voxel / (outputSize[2] * outputSize[1])) % outputSize[0]
            let volume = input + (voxel / (outputSize[2] * outputSize[1] * outputSize[0])) * depth * height * width * channels
            let (front, top, left) = (z * stride[0] - padBefore[0], y * stride[1] - padBefore[1], x * stride[2] - padBefore[2])
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
                    if dilation[2] == 1, left >= 0, left + kernel[2] <= width {
                        // The window's row lies inside the input: one contiguous run.
                        copy(row + left * channels, to: target, count: rowLength)
                        target += rowLength
                        continue
                    }
                    for kx in 0..<kernel[2] {
                        let ix = left + kx * dilation[2]
                        if ix >= 0, ix < width {
                            copy(row + ix * channels, to: target, count: channels)
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

/// Copies `count` floats; a plain loop for the few channels of a volume's first layers, where a
/// call to memmove per voxel costs more than the copy.
@inline(__always)
private func copy(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
    if count <= 16 {
        for i in 0..<count { target[i] = source[i] }
    } else {
        target.update(from: source, count: count)
    }
}

/// CONV_3D as a matrix product: each output voxel's patch (im2col) is a row, and the
/// DHWIO filter is already the (patch length x output channels) matrix it multiplies.
struct Convolution3DKernel: Kernel {
    let geometry: VolumeGeometry
    let outputChannels: Int
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int
    /// Output voxels per matrix product: bounds the patch buffer per chunk.
    let tileRows: Int

    init(input: [Int], filter: [Int], output: [Int], window: Window, hasBias: Bool, activation: FusedActivation, threads: Int) {
        geometry = VolumeGeometry(input: input, filter: filter, output: output, window: window)
        outputChannels = filter[4]
        self.hasBias = hasBias
        self.activation = activation
        self.threads = threads
        let voxels = geometry.outputVoxels
        let perChunk = (voxels + 4 * threads - 1) / (4 * threads)
        // As CONV_2D's: about 1 MB of patches per product, at least 32 rows.
        let cached = geometry.isPointwise ? perChunk : (1 << 18) / max(geometry.patchLength, 1)
        tileRows = max(1, min(32, voxels), min(perChunk, cached))
    }

    private var tileCount: Int { (geometry.outputVoxels + tileRows - 1) / tileRows }

    var scratchCount: Int {
        geometry.isPointwise ? 0 : chunkCount(tileCount, threads: threads) * tileRows * geometry.patchLength
    }

    func run(_ context: KernelContext) {
        let length = geometry.patchLength
        parallelFor(tileCount, threads: threads) { chunk, range in
            let patches = context.scratch + chunk * tileRows * length
            for tile in range {
                let rows = (tile * tileRows)..<min(geometry.outputVoxels, (tile + 1) * tileRows)
                let left: UnsafePointer<Float>
                if geometry.isPointwise {
                    left = context.inputs[0] + rows.lowerBound * length
                } else {
                    geometry.gatherPatches(context.inputs[0], voxels: rows, into: patches)
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
        let length = Int32(geometry.patchLength)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(outputChannels), length,
                    1, left, length, context.inputs[1], Int32(outputChannels), hasBias ? 1 : 0, result, Int32(outputChannels))
        applyActivation(activation, result, count: rows.count * outputChannels)
    }
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
