import H5ToLiteCore
import H5ToLiteIR

/// A weight constant `--sparse-weights` stores in TFLite's sparse format: its layout, the bytes
/// of the values the layout keeps, and whether a DENSIFY op restores it for its consumer
/// (otherwise FULLY_CONNECTED reads the blocks itself).
public struct SparseConstant: Sendable {
    public var layout: SparseLayout
    public var stored: [UInt8]
    public var densify: Bool
    /// Zeros in the dense tensor, and its element count, for the report.
    public var zeros: Int
    public var elements: Int

    public init(layout: SparseLayout, stored: [UInt8], densify: Bool, zeros: Int, elements: Int) {
        self.layout = layout
        self.stored = stored
        self.densify = densify
        self.zeros = zeros
        self.elements = elements
    }

    /// "csr" or "blocks 1x4", and who reads it.
    public var description: String {
        let blocks = layout.blockSizes.first.map { "blocks 1x\($0)" } ?? "csr"
        return densify ? "\(blocks) + DENSIFY" : "\(blocks), read by FULLY_CONNECTED"
    }
}

/// TensorFlow's converter (`EXPERIMENTAL_SPARSITY`, the DenseToSparse pass) keeps weights with
/// fewer zeros than this dense.
let minimumSparsity = 0.3

/// Chooses, as TensorFlow's converter does, which weights to store sparse and how: the filter
/// (rank 2 or 4) of a convolution, depthwise, transposed convolution or fully connected op, or
/// the float16 constant a DEQUANTIZE turns into that filter, when at least 30% of it is zero.
/// Every such weight is stored with its last axis compressed (CSR) behind a DENSIFY op, except
/// a FULLY_CONNECTED filter whose blocks (1x4 in float32, 1x16 in int8) are nearly as sparse as
/// its elements: the kernel reads those blocks directly. Other int8 weights stay dense, because
/// LiteRT's default XNNPACK delegate fails to prepare an op reading them through DENSIFY, and
/// computes a hybrid FULLY_CONNECTED's int8 blocks wrongly (both measured on TensorFlow's own
/// sparse files, LiteRT 2.3.0); `skipped` lists them.
public func planSparseWeights(_ graph: Graph) -> (sparse: [ValueID: SparseConstant], skipped: [String]) {
    var readers: [ValueID: [(op: Op, operand: Int)]] = [:]
    for op in graph.ops {
        for (operand, input) in op.inputs.enumerated() { readers[input, default: []].append((op, operand)) }
    }
    var sparse: [ValueID: SparseConstant] = [:]
    var skipped: [String] = []
    for op in graph.ops {
        guard let weights = op.kind.facts.weights, op.inputs.count > weights.filter else { continue }
        guard let (constant, viaDequantize) = weightConstant(op.inputs[weights.filter], in: graph),
              sparse[constant] == nil, let data = graph[constant].constant, [2, 4].contains(graph[constant].shape.count),
              onlyWeightReaders(constant, graph: graph, readers: readers) else { continue }
        let zeros = zeroCount(data)
        guard Double(zeros) >= minimumSparsity * Double(data.count), data.count > 0 else { continue }
        if data.dtype == .int8 {
            if op.kind.isFullyConnected, graph[op.inputs[0]].dtype == .int8,
               let blocked = blocked(data, shape: graph[constant].shape, zeros: zeros, block: 16, ratio: 0.8) {
                sparse[constant] = blocked
            } else if !skipped.contains(graph[constant].name) {
                skipped.append(graph[constant].name)
            }
            continue
        }
        let readsBlocks = op.kind.isFullyConnected && !viaDequantize && data.dtype == .float32
        sparse[constant] = encode(data, shape: graph[constant].shape, zeros: zeros, readsBlocks: readsBlocks)
    }
    return (sparse, skipped)
}

/// The constant behind a filter operand: the operand itself, or the float16 constant a
/// DEQUANTIZE reads (float16 files), with whether it came through the DEQUANTIZE.
private func weightConstant(_ filter: ValueID, in graph: Graph) -> (ValueID, Bool)? {
    if graph.isConstant(filter) { return (filter, false) }
    guard let producer = graph.ops.first(where: { $0.outputs.contains(filter) }), producer.kind == .dequantize,
          let source = producer.inputs.first, graph[source].constant?.dtype == .float16 else { return nil }
    return (source, true)
}

/// Whether every op reading `constant` reads it as its filter (directly or through a
/// DEQUANTIZE): a sparse tensor feeds nothing else.
private func onlyWeightReaders(_ constant: ValueID, graph: Graph, readers: [ValueID: [(op: Op, operand: Int)]]) -> Bool {
    (readers[constant] ?? []).allSatisfy { reader in
        if let weights = reader.op.kind.facts.weights { return reader.operand == weights.filter }
        return reader.op.kind == .dequantize
    }
}

private func zeroCount(_ data: ConstantData) -> Int {
    (0..<data.count).reduce(0) { $0 + (zeroAt(data, $1) ? 1 : 0) }
}

/// TensorFlow's layouts: every axis dense but the last, which is compressed; a float32
/// FULLY_CONNECTED filter is cut into 1x4 blocks along its input axis when the blocks keep
/// less than 1 / 0.9 as many values as single elements would (`kBlockOverRandomSparsityRatio`).
private func encode(_ data: ConstantData, shape: [Int], zeros: Int, readsBlocks: Bool) -> SparseConstant {
    if readsBlocks, let blocked = blocked(data, shape: shape, zeros: zeros, block: 4, ratio: 0.9) {
        return blocked
    }
    let bytes = data.withUnsafeBytes { Array($0) }
    let random = SparseLayout.compressingLastAxis(shape: shape, block: 1, elementSize: bytes.count / data.count, bytes: bytes,
                                                  isZero: { zeroAt(data, $0) })
    return SparseConstant(layout: random.layout, stored: random.stored, densify: true, zeros: zeros, elements: data.count)
}

/// A FULLY_CONNECTED filter in 1 x `block` blocks along its input axis, for the kernel to read
/// directly, when the share of elements in all-zero blocks is more than `ratio` times the share
/// of zero elements; nil otherwise.
private func blocked(_ data: ConstantData, shape: [Int], zeros: Int, block: Int, ratio: Double) -> SparseConstant? {
    guard shape.count == 2, shape[1] % block == 0 else { return nil }
    let bytes = data.withUnsafeBytes { Array($0) }
    let elementSize = bytes.count / data.count
    let encoded = SparseLayout.compressingLastAxis(shape: shape, block: block, elementSize: elementSize, bytes: bytes,
                                                   isZero: { zeroAt(data, $0) })
    let blockSparsity = Double(data.count - encoded.stored.count / elementSize) / Double(data.count)
    guard blockSparsity / (Double(zeros) / Double(data.count)) > ratio else { return nil }
    return SparseConstant(layout: encoded.layout, stored: encoded.stored, densify: false, zeros: zeros, elements: data.count)
}

/// Whether element `index` is zero (either sign: TensorFlow drops -0.0 too).
private func zeroAt(_ data: ConstantData, _ index: Int) -> Bool {
    switch data {
    case .float32(let values): return values[index] == 0
    case .float16(let bits): return bits[index] & 0x7FFF == 0
    case .int8(let values): return values[index] == 0
    case .int32(let values): return values[index] == 0
    }
}

extension SparseLayout {
    /// Compresses the last axis of a row-major tensor: the other axes stay dense, and each
    /// row keeps the indices of its blocks of `block` elements that are not all zero
    /// (`block` 1: single elements). Returns the layout and the kept values' bytes.
    static func compressingLastAxis(shape: [Int], block: Int, elementSize: Int, bytes: [UInt8],
                                    isZero: (Int) -> Bool) -> (layout: SparseLayout, stored: [UInt8]) {
        let rank = shape.count
        let columns = shape[rank - 1] / block
        let rows = shape.dropLast().reduce(1, *)
        var segments = [0]
        var indices: [Int] = []
        var stored: [UInt8] = []
        for row in 0..<rows {
            for column in 0..<columns {
                let start = row * shape[rank - 1] + column * block
                guard (start..<(start + block)).contains(where: { !isZero($0) }) else { continue }
                indices.append(column)
                stored += bytes[(start * elementSize)..<((start + block) * elementSize)]
            }
            segments.append(indices.count)
        }
        var levels = shape.dropLast().map { SparseLayout.Level.dense(size: $0) }
        levels.append(.compressed(segments: segments, indices: indices))
        var order = Array(0..<rank)
        var blockMap: [Int] = []
        if block > 1 {
            levels.append(.dense(size: block))
            order.append(rank)
            blockMap = [rank - 1]
        }
        return (SparseLayout(traversalOrder: order, blockMap: blockMap, levels: levels), stored)
    }
}

extension OpKind {
    var isFullyConnected: Bool {
        if case .fullyConnected = self { return true }
        return false
    }
}
