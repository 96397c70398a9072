import CKernels
import Foundation
import H5ToLiteIR

/// MAX_POOL_2D and AVERAGE_POOL_2D as TFLite computes them: the window is clipped
/// to the input, and an average divides by the number of input pixels under the
/// clipped window, never counting padding.
struct PoolKernel: Kernel {
    let geometry: WindowGeometry
    let isMax: Bool
    let activation: FusedActivation
    let threads: Int

    func run(_ context: KernelContext) {
        let g = geometry
        let rowLength = g.outputWidth * g.inputChannels
        let (lo, hi) = clampBounds(activation)
        withUnsafePointer(to: poolShape(g, isMax: isMax)) { shape in
            parallelFor(g.outputHeight, threads: threads) { _, range in
                let output = context.output + range.lowerBound * rowLength
                h5t_f32_pool(shape, Int32(range.lowerBound), Int32(range.count), context.inputs[0], output, lo, hi)
                if activation == .tanh {
                    for i in 0..<(range.count * rowLength) { output[i] = tanh(output[i]) }
                }
            }
        }
    }
}

/// The window of a pooling op, for h5t_f32_pool and h5t_qs8_pool.
func poolShape(_ g: WindowGeometry, isMax: Bool) -> h5t_pool {
    h5t_pool(input_height: Int32(g.inputHeight), input_width: Int32(g.inputWidth), channels: Int32(g.inputChannels),
             output_width: Int32(g.outputWidth), window_height: Int32(g.kernelHeight), window_width: Int32(g.kernelWidth),
             stride_height: Int32(g.strideHeight), stride_width: Int32(g.strideWidth), pad_top: Int32(g.padTop),
             pad_left: Int32(g.padLeft), is_max: isMax ? 1 : 0)
}

/// The part of `start..<start + length` inside `0..<size`.
func clipped(_ start: Int, _ length: Int, _ size: Int) -> Range<Int> {
    let lower = min(max(start, 0), size)
    return lower..<max(lower, min(start + length, size))
}
