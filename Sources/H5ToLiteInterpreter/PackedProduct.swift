import CKernels
import Foundation
import H5ToLiteIR

/// Where each row of a product reads its inputs: for a convolution, one offset per output
/// pixel and filter tap into the NHWC image (-1 where the window hangs over the padding),
/// so that no patches are copied; for a dense layer or a 1x1 convolution that reads every
/// pixel, consecutive rows of the input.
struct ProductRows {
    let count: Int
    let taps: Int
    let channels: Int
    /// count * taps offsets, or empty when row r starts at r * channels.
    let offsets: [Int32]

    /// Rows that are the input's own rows of `depth` values.
    init(count: Int, depth: Int) {
        self.count = count
        taps = 1
        channels = depth
        offsets = []
    }

    /// Rows of a window sliding over one image whose pixels start `pixelStride` elements apart
    /// (the channel count, or more where the kernels read a padded layout).
    init(_ g: WindowGeometry, pixelStride: Int) {
        count = g.outputHeight * g.outputWidth
        taps = g.kernelHeight * g.kernelWidth
        channels = g.inputChannels
        let direct = taps == 1 && g.strideHeight == 1 && g.strideWidth == 1 && g.padTop == 0 && g.padLeft == 0
            && g.inputHeight == g.outputHeight && g.inputWidth == g.outputWidth
        offsets = direct ? [] : windowOffsets(g, pixelStride: pixelStride)
    }

    /// The offsets of rows from `first` on, for the kernels.
    func offsets(from first: Int, _ body: (UnsafePointer<Int32>?) -> Void) {
        guard !offsets.isEmpty else { return body(nil) }
        offsets.withUnsafeBufferPointer { body($0.baseAddress! + first * taps) }
    }
}

/// Per output pixel and tap, where the tap's input pixel starts, or -1 in the padding.
func windowOffsets(_ g: WindowGeometry, pixelStride: Int) -> [Int32] {
    var offsets: [Int32] = []
    offsets.reserveCapacity(g.outputHeight * g.outputWidth * g.kernelHeight * g.kernelWidth)
    for y in 0..<g.outputHeight {
        for x in 0..<g.outputWidth {
            for ky in 0..<g.kernelHeight {
                let iy = g.inputRow(y) + ky * g.dilationHeight
                for kx in 0..<g.kernelWidth {
                    let ix = g.inputColumn(x) + kx * g.dilationWidth
                    let inside = iy >= 0 && iy < g.inputHeight && ix >= 0 && ix < g.inputWidth
                    offsets.append(inside ? Int32((iy * g.inputWidth + ix) * pixelStride) : -1)
                }
            }
        }
    }
    return offsets
}

/// Splits a product of `rows` rows and `units` output channels into tiles for `parallelFor`:
/// a few rows each (a multiple of every kernel's row block), and where rows are few, groups of
/// channel panels, so that every worker has some.
struct ProductTiles {
    static let rowsPerTile = 48
    let rowTiles: Int
    let panelsPerTile: Int
    let panelTiles: Int

    init(rows: Int, units: Int, threads: Int) {
        rowTiles = (rows + Self.rowsPerTile - 1) / Self.rowsPerTile
        let panels = (units + Int(H5T_PANEL) - 1) / Int(H5T_PANEL)
        let wanted = threads > 1 ? max(1, (4 * threads + rowTiles - 1) / rowTiles) : 1
        panelsPerTile = (panels + min(wanted, panels) - 1) / min(wanted, panels)
        panelTiles = (panels + panelsPerTile - 1) / panelsPerTile
    }

    var count: Int { rowTiles * panelTiles }

    /// The rows and output channels of tile `index`.
    func tile(_ index: Int, rows: Int, units: Int) -> (rows: Range<Int>, units: Range<Int>) {
        let row = (index / panelTiles) * Self.rowsPerTile
        let unit = (index % panelTiles) * panelsPerTile * Int(H5T_PANEL)
        return (row..<min(rows, row + Self.rowsPerTile), unit..<min(units, unit + panelsPerTile * Int(H5T_PANEL)))
    }
}

/// CONV_2D and FULLY_CONNECTED in float32: each output row is a row of inputs (a pixel's
/// window, or a dense layer's input) times the weights, packed once into the layout the
/// kernels read, with the bias and the fused activation applied as the sums are stored.
struct FloatProductKernel: Kernel {
    let rows: ProductRows
    let units: Int
    /// Weights and biases packed when the program was built, or nil when they are not
    /// constants and are packed into scratch memory on every run.
    let packed: [Float]?
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int
    let tiles: ProductTiles
    /// One input pixel of zeros: what a window reads in the padding.
    let zeros: [Float]

    init(rows: ProductRows, units: Int, weights: [Float]?, bias: [Float]?, hasBias: Bool, activation: FusedActivation, threads: Int) {
        self.rows = rows
        self.units = units
        self.hasBias = hasBias
        self.activation = activation
        self.threads = threads
        tiles = ProductTiles(rows: rows.count, units: units, threads: threads)
        zeros = [Float](repeating: 0, count: rows.channels)
        packed = weights.flatMap { weights in hasBias && bias == nil ? nil : packFloat(units: units, depth: rows.taps * rows.channels, weights, bias) }
    }

    var scratchCount: Int { packed == nil ? h5t_f32_packed_count(Int32(units), Int32(rows.taps * rows.channels)) : 0 }

    func run(_ context: KernelContext) {
        if let packed {
            packed.withUnsafeBufferPointer { multiply(context, weights: $0.baseAddress!) }
        } else {
            h5t_f32_pack(Int32(units), Int32(rows.taps * rows.channels), context.inputs[1], hasBias ? context.inputs[2] : nil,
                         context.scratch)
            multiply(context, weights: context.scratch)
        }
    }

    private func multiply(_ context: KernelContext, weights: UnsafePointer<Float>) {
        let (lo, hi) = clampBounds(activation)
        let panelSize = Int(H5T_PANEL) * (rows.taps * rows.channels + 1)
        zeros.withUnsafeBufferPointer { zeros in
            parallelFor(tiles.count, threads: threads) { _, range in
                for index in range {
                    let tile = tiles.tile(index, rows: rows.count, units: units)
                    rows.offsets(from: tile.rows.lowerBound) { offsets in
                        h5t_f32_igemm(Int32(tile.rows.count), Int32(tile.units.count), Int32(rows.taps), Int32(rows.channels),
                                      context.inputs[0] + (offsets == nil ? tile.rows.lowerBound * rows.channels : 0), offsets,
                                      rows.channels, zeros.baseAddress, weights + tile.units.lowerBound / Int(H5T_PANEL) * panelSize,
                                      context.output + tile.rows.lowerBound * units + tile.units.lowerBound, units, lo, hi)
                    }
                    if activation == .tanh {
                        for row in tile.rows {
                            let start = context.output + row * units + tile.units.lowerBound
                            for j in 0..<tile.units.count { start[j] = tanh(start[j]) }
                        }
                    }
                }
            }
        }
    }
}

/// Weights (units rows of depth) and biases in h5t_f32_igemm's packed layout.
func packFloat(units: Int, depth: Int, _ weights: [Float], _ bias: [Float]?) -> [Float] {
    [Float](unsafeUninitializedCapacity: h5t_f32_packed_count(Int32(units), Int32(depth))) { buffer, count in
        if let bias {
            h5t_f32_pack(Int32(units), Int32(depth), weights, bias, buffer.baseAddress!)
        } else {
            h5t_f32_pack(Int32(units), Int32(depth), weights, nil, buffer.baseAddress!)
        }
        count = buffer.count
    }
}

/// The bounds a fused activation clamps to; tanh is applied after the clamp-free store.
func clampBounds(_ activation: FusedActivation) -> (Float, Float) {
    switch activation {
    case .none, .tanh: return (-.infinity, .infinity)
    case .relu: return (0, .infinity)
    case .relu6: return (0, 6)
    case .reluN1To1: return (-1, 1)
    }
}

/// An integer CONV_2D or FULLY_CONNECTED's weights packed for h5t_qs8_igemm, the rows it
/// multiplies and how they split over the threads: what the int8 and hybrid kernels share.
struct IntegerProduct {
    let rows: ProductRows
    let units: Int
    let layout: h5t_qs8_layout
    /// Input pixels (rows for a dense layer) staged per run.
    let pixels: Int
    let packed: [UInt8]
    let threads: Int
    let tiles: ProductTiles

    /// `weights` holds the units rows of taps * channels weights less their zero point;
    /// `window` the convolution's geometry, nil for a dense layer; `layout` nil to choose the
    /// best for the weights.
    init(window: WindowGeometry?, units: Int, inputCount: Int, weights: [Int16], bias: [Int32]?, inputZeroPoint: Int32,
         layout: h5t_qs8_layout?, threads: Int) {
        let channels = weights.count / units / (window.map { $0.kernelHeight * $0.kernelWidth } ?? 1)
        let layout = layout ?? h5t_qs8_choose_layout(weights, weights.count)
        let stride = h5t_qs8_staged_pixel_bytes(layout, Int32(channels))
        let rows = window.map { ProductRows($0, pixelStride: stride) } ?? ProductRows(count: inputCount / channels, depth: channels)
        self.rows = rows
        self.units = units
        self.layout = layout
        pixels = inputCount / channels
        self.threads = threads
        tiles = ProductTiles(rows: rows.count, units: units, threads: threads)
        let count = h5t_qs8_packed_bytes(layout, Int32(units), Int32(rows.taps), Int32(channels))
        packed = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            h5t_qs8_pack(layout, Int32(units), Int32(rows.taps), Int32(channels), weights, bias, inputZeroPoint, buffer.baseAddress!)
            initialized = count
        }
    }

    /// Bytes one staged pixel takes.
    var pixelBytes: Int { h5t_qs8_staged_pixel_bytes(layout, Int32(rows.channels)) }

    /// Multiplies the staged input by the weights into `output`: int8 values requantized, or
    /// without a requantization the int32 sums.
    func multiply(staged: UnsafeRawPointer, padding: UnsafeRawPointer, requantization: Requantization?,
                  into output: UnsafeMutableRawPointer) {
        let stride = pixelBytes
        let elementSize = requantization == nil ? MemoryLayout<Int32>.size : 1
        packed.withUnsafeBufferPointer { packed in
            let panelSize = packed.count / ((units + Int(H5T_PANEL) - 1) / Int(H5T_PANEL))
            parallelFor(tiles.count, threads: threads) { _, range in
                for index in range {
                    let tile = tiles.tile(index, rows: rows.count, units: units)
                    let target = output + (tile.rows.lowerBound * units + tile.units.lowerBound) * elementSize
                    let weights = packed.baseAddress! + tile.units.lowerBound / Int(H5T_PANEL) * panelSize
                    func multiply(_ parameters: UnsafePointer<h5t_requantization>?) {
                        rows.offsets(from: tile.rows.lowerBound) { offsets in
                            h5t_qs8_igemm(layout, Int32(tile.rows.count), Int32(tile.units.count), Int32(rows.taps), Int32(rows.channels),
                                          staged + (offsets == nil ? tile.rows.lowerBound * stride : 0), offsets, stride,
                                          padding, weights, parameters, target, units)
                        }
                    }
                    if let requantization {
                        requantization.withParameters(from: tile.units.lowerBound) { multiply($0) }
                    } else {
                        multiply(nil)
                    }
                }
            }
        }
    }
}

/// CONV_2D and FULLY_CONNECTED on int8 activations, with TFLite's reference arithmetic: exact
/// int32 sums of the input less its zero point times the weights less theirs, requantized per
/// output channel. The input is first staged in the layout the kernels multiply (int16 pairs, or
/// unsigned byte quads with VNNI); the input zero point's products are folded into the packed
/// biases.
struct IntegerProductKernel: Kernel {
    let product: IntegerProduct
    /// One staged pixel of the input zero point: what a window reads in the padding.
    let padding: [UInt8]
    let inputZeroPoint: Int32
    let requantization: Requantization

    init(product: IntegerProduct, inputZeroPoint: Int32, requantization: Requantization) {
        self.product = product
        self.inputZeroPoint = inputZeroPoint
        self.requantization = requantization
        let channels = product.rows.channels
        padding = [UInt8](unsafeUninitializedCapacity: product.pixelBytes) { buffer, initialized in
            let zeros = [Int8](repeating: Int8(truncatingIfNeeded: inputZeroPoint), count: channels)
            h5t_qs8_stage(product.layout, 1, Int32(channels), zeros, inputZeroPoint, buffer.baseAddress!)
            initialized = buffer.count
        }
    }

    var scratchCount: Int { wordCount(product.pixels * product.pixelBytes, size: 1) }

    func run(_ context: KernelContext) {
        let stride = product.pixelBytes, channels = product.rows.channels
        let staged = context.scratch(as: UInt8.self, count: product.pixels * stride)
        parallelFor(product.pixels, threads: product.threads, grain: max(1, (1 << 14) / max(channels, 1))) { _, range in
            h5t_qs8_stage(product.layout, Int32(range.count), Int32(channels), context.input(0, as: Int8.self) + range.lowerBound * channels,
                          inputZeroPoint, staged + range.lowerBound * stride)
        }
        padding.withUnsafeBytes { padding in
            product.multiply(staged: staged, padding: padding.baseAddress!, requantization: requantization,
                             into: UnsafeMutableRawPointer(context.output))
        }
    }
}

/// Where DEPTHWISE_CONV_2D's window reads: per output pixel and tap, the input pixel's offset
/// (-1 in the padding), and how input channels map to output channels.
struct DepthwiseWindows {
    let pixels: Int
    let taps: Int
    let channels: Int
    let multiplier: Int
    let offsets: [Int32]

    init(_ g: WindowGeometry, multiplier: Int) {
        pixels = g.outputHeight * g.outputWidth
        taps = g.kernelHeight * g.kernelWidth
        channels = g.inputChannels
        self.multiplier = multiplier
        offsets = windowOffsets(g, pixelStride: g.inputChannels)
    }

    /// Output channels per pixel.
    var width: Int { channels * multiplier }

    /// Output pixels worth a chunk of their own.
    var grain: Int { max(1, (1 << 12) / max(width * taps, 1)) }

    /// The shape in the kernels' form, valid inside `body`.
    func withShape<Result>(_ body: (UnsafePointer<h5t_depthwise>) -> Result) -> Result {
        offsets.withUnsafeBufferPointer { offsets in
            withUnsafePointer(to: h5t_depthwise(taps: Int32(taps), channels: Int32(channels), multiplier: Int32(multiplier),
                                                offsets: offsets.baseAddress)) { body($0) }
        }
    }
}

/// DEPTHWISE_CONV_2D in float32: each output channel sums its input channel under the window,
/// vectorized across channels (h5t_f32_depthwise).
struct DepthwiseKernel: Kernel {
    let windows: DepthwiseWindows
    let hasBias: Bool
    let activation: FusedActivation
    let threads: Int
    /// What a window reads where it leaves the image.
    let padding: [Float]

    init(windows: DepthwiseWindows, hasBias: Bool, activation: FusedActivation, threads: Int) {
        self.windows = windows
        self.hasBias = hasBias
        self.activation = activation
        self.threads = threads
        padding = [Float](repeating: 0, count: windows.channels)
    }

    func run(_ context: KernelContext) {
        let width = windows.width
        let (lo, hi) = clampBounds(activation)
        windows.withShape { shape in
        padding.withUnsafeBufferPointer { padding in
            parallelFor(windows.pixels, threads: threads, grain: windows.grain) { _, range in
                let output = context.output + range.lowerBound * width
                h5t_f32_depthwise(shape, Int32(range.lowerBound), Int32(range.count), context.inputs[0], padding.baseAddress,
                                  context.inputs[1], hasBias ? context.inputs[2] : nil, output, lo, hi)
                if activation == .tanh {
                    for i in 0..<(range.count * width) { output[i] = tanh(output[i]) }
                }
            }
        }
        }
    }
}

/// DEPTHWISE_CONV_2D on int8 activations, with TFLite's reference arithmetic (h5t_qs8_depthwise):
/// exact int32 sums of the centred input times the weights less their zero point, plus the bias,
/// requantized per output channel. The weights are packed in tap pairs with the input zero point
/// folded into the biases, and the padding reads a row of the zero point.
struct Int8DepthwiseKernel: Kernel {
    let windows: DepthwiseWindows
    let packed: [Int32]
    let padding: [Int8]
    let requantization: Requantization
    let threads: Int

    /// `weights` less their zero point, [taps][channels * multiplier].
    init(windows: DepthwiseWindows, weights: [Int32], bias: [Int32]?, inputZeroPoint: Int32, requantization: Requantization,
         threads: Int) {
        self.windows = windows
        let (taps, width) = (Int32(windows.taps), Int32(windows.width))
        var packed = [Int32](repeating: 0, count: h5t_qs8_depthwise_packed_words(taps, width))
        if let bias {
            bias.withUnsafeBufferPointer { h5t_qs8_depthwise_pack(taps, width, weights, $0.baseAddress, inputZeroPoint, &packed) }
        } else {
            h5t_qs8_depthwise_pack(taps, width, weights, nil, inputZeroPoint, &packed)
        }
        self.packed = packed
        padding = [Int8](repeating: Int8(truncatingIfNeeded: inputZeroPoint), count: windows.channels)
        self.requantization = requantization
        self.threads = threads
    }

    func run(_ context: KernelContext) {
        let width = windows.width
        let input = context.input(0, as: Int8.self), output = context.output(as: Int8.self)
        windows.withShape { shape in
        packed.withUnsafeBufferPointer { packed in
        padding.withUnsafeBufferPointer { padding in
            requantization.withParameters(from: 0) { requantization in
                parallelFor(windows.pixels, threads: threads, grain: windows.grain) { _, range in
                    h5t_qs8_depthwise(shape, Int32(range.lowerBound), Int32(range.count), input, padding.baseAddress,
                                      packed.baseAddress, requantization, output + range.lowerBound * width)
                }
            }
        }
        }
        }
    }
}

/// How int32 sums become int8 outputs, channel by channel, for the C kernels: TFLite's
/// multiplier and shift per channel, the output zero point and the activation's bounds.
struct Requantization {
    let multipliers: [Int32]
    let shifts: [Int32]
    let outputZeroPoint: Int32
    let bounds: ClosedRange<Int32>

    init(_ multipliers: [QuantizedMultiplier], outputZeroPoint: Int32, bounds: ClosedRange<Int32>) {
        self.multipliers = multipliers.map(\.significand)
        shifts = multipliers.map { Int32($0.shift) }
        self.outputZeroPoint = outputZeroPoint
        self.bounds = bounds
    }

    /// The parameters of channels `first`... in the kernels' form, valid inside `body`.
    func withParameters<Result>(from first: Int, _ body: (UnsafePointer<h5t_requantization>) -> Result) -> Result {
        multipliers.withUnsafeBufferPointer { multipliers in
            shifts.withUnsafeBufferPointer { shifts in
                withUnsafePointer(to: h5t_requantization(multiplier: multipliers.baseAddress! + first, shift: shifts.baseAddress! + first,
                                                         output_zero_point: outputZeroPoint, lo: bounds.lowerBound,
                                                         hi: bounds.upperBound)) { body($0) }
            }
        }
    }
}
