import Foundation
import H5ToLiteIR

/// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR with TFLite's reference
/// coordinate rules; the source rows and columns of every output row and column
/// are worked out once, when the kernel is built.
struct ResizeKernel: Kernel {
    let mode: ResizeMode
    let rows: [Sample]
    let columns: [Sample]
    let inputWidth: Int
    let channels: Int
    let threads: Int

    /// Where one output coordinate reads: the two neighbours and the position
    /// between them (nearest uses `lower` only).
    struct Sample {
        let lower: Int
        let upper: Int
        /// Source coordinate minus `lower`: the weight of `upper`.
        let fraction: Float
    }

    init(mode: ResizeMode, input: [Int], size: [Int], alignCorners: Bool, halfPixelCenters: Bool, threads: Int) {
        self.mode = mode
        inputWidth = input[2]
        channels = input[3]
        self.threads = threads
        let sample = mode == .bilinear ? bilinearSample : nearestSample
        rows = (0..<size[0]).map { sample($0, input[1], size[0], alignCorners, halfPixelCenters) }
        columns = (0..<size[1]).map { sample($0, input[2], size[1], alignCorners, halfPixelCenters) }
    }

    func run(_ context: KernelContext) {
        let rowLength = columns.count * channels
        parallelFor(rows.count, threads: threads) { _, range in
            for y in range {
                for (x, column) in columns.enumerated() {
                    let pixel = context.output + y * rowLength + x * channels
                    if mode == .nearest {
                        pixel.update(from: at(context, rows[y].lower, column.lower), count: channels)
                    } else {
                        interpolate(context, rows[y], column, into: pixel)
                    }
                }
            }
        }
    }

    private func at(_ context: KernelContext, _ y: Int, _ x: Int) -> UnsafePointer<Float> {
        context.inputs[0] + (y * inputWidth + x) * channels
    }

    /// The reference kernel's sum, with its order of operations.
    private func interpolate(_ context: KernelContext, _ row: Sample, _ column: Sample, into pixel: UnsafeMutablePointer<Float>) {
        let topLeft = at(context, row.lower, column.lower)
        let bottomLeft = at(context, row.upper, column.lower)
        let topRight = at(context, row.lower, column.upper)
        let bottomRight = at(context, row.upper, column.upper)
        let dy = row.fraction
        let dx = column.fraction
        for c in 0..<channels {
            pixel[c] = topLeft[c] * (1 - dy) * (1 - dx) + bottomLeft[c] * dy * (1 - dx)
                + topRight[c] * (1 - dy) * dx + bottomRight[c] * dy * dx
        }
    }
}

private func scale(_ input: Int, _ output: Int, _ alignCorners: Bool) -> Float {
    alignCorners && output > 1 ? Float(input - 1) / Float(output - 1) : Float(input) / Float(output)
}

private func bilinearSample(_ index: Int, _ input: Int, _ output: Int, _ alignCorners: Bool, _ halfPixelCenters: Bool) -> ResizeKernel.Sample {
    let factor = scale(input, output, alignCorners)
    let source = halfPixelCenters ? (Float(index) + 0.5) * factor - 0.5 : Float(index) * factor
    let lower = max(Int(source.rounded(.down)), 0)
    let upper = min(Int(source.rounded(.up)), input - 1)
    return ResizeKernel.Sample(lower: lower, upper: upper, fraction: source - Float(lower))
}

private func nearestSample(_ index: Int, _ input: Int, _ output: Int, _ alignCorners: Bool, _ halfPixelCenters: Bool) -> ResizeKernel.Sample {
    let factor = scale(input, output, alignCorners)
    let source = (Float(index) + (halfPixelCenters ? 0.5 : 0)) * factor
    // TfLiteRound rounds halves away from zero.
    var nearest = min(Int(alignCorners ? source.rounded(.toNearestOrAwayFromZero) : source.rounded(.down)), input - 1)
    if halfPixelCenters { nearest = max(nearest, 0) }
    return ResizeKernel.Sample(lower: nearest, upper: nearest, fraction: 0)
}
