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
        let channels = g.inputChannels
        parallelFor(g.outputHeight, threads: threads) { _, range in
            for y in range {
                for x in 0..<g.outputWidth {
                    pool(context.inputs[0], y: y, x: x, into: context.output + (y * g.outputWidth + x) * channels)
                }
                applyActivation(activation, context.output + y * g.outputWidth * channels, count: g.outputWidth * channels)
            }
        }
    }

    private func pool(_ input: UnsafePointer<Float>, y: Int, x: Int, into pixel: UnsafeMutablePointer<Float>) {
        let g = geometry
        let channels = g.inputChannels
        let top = g.inputRow(y)
        let left = g.inputColumn(x)
        let rows = clipped(top, g.kernelHeight, g.inputHeight)
        let columns = clipped(left, g.kernelWidth, g.inputWidth)
        pixel.update(repeating: isMax ? -Float.greatestFiniteMagnitude : 0, count: channels)
        for iy in rows {
            for ix in columns {
                let source = input + (iy * g.inputWidth + ix) * channels
                if isMax {
                    for c in 0..<channels { pixel[c] = max(pixel[c], source[c]) }
                } else {
                    for c in 0..<channels { pixel[c] += source[c] }
                }
            }
        }
        if !isMax {
            let count = Float(rows.count * columns.count)
            for c in 0..<channels { pixel[c] /= count }
        }
    }
}

/// The part of `start..<start + length` inside `0..<size`.
func clipped(_ start: Int, _ length: Int, _ size: Int) -> Range<Int> {
    let lower = min(max(start, 0), size)
    return lower..<max(lower, min(start + length, size))
}
