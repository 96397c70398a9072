import H5ToLiteCore

/// Reads a tensor's `sparsity` table into a `SparseLayout`, checked against its shape, and
/// densifies sparse constants once, when they are first read: every kernel then sees dense
/// weights, whether the file stored them for DENSIFY or for FULLY_CONNECTED to read directly.
extension TFLiteGraphReader {
    static func readSparsity(_ tensor: FlatTable, shape: [Int]) throws -> SparseLayout? {
        guard let table = try tensor.table(Slot.Tensor.sparsity) else { return nil }
        guard let order = try table.vector(Slot.SparsityParameters.traversal_order, elementSize: 4) else {
            throw H5ToLiteError("sparsity.traversal_order is missing")
        }
        let blockMap = try table.vector(Slot.SparsityParameters.block_map, elementSize: 4)?.scalars(Int32.self).map(Int.init) ?? []
        let metadata = try table.vector(Slot.SparsityParameters.dim_metadata, elementSize: 4) ?? FlatVector(empty: tensor.buffer)
        let levels = try (0..<metadata.count).map { try readLevel(try metadata.table($0), field: "sparsity.dim_metadata[\($0)]") }
        let layout = SparseLayout(traversalOrder: try order.scalars(Int32.self).map(Int.init), blockMap: blockMap, levels: levels)
        _ = try layout.validate(shape: shape)
        return layout
    }

    private static func readLevel(_ table: FlatTable, field: String) throws -> SparseLayout.Level {
        let format = try table.scalar(Slot.DimensionMetadata.format, default: Int8(0))
        switch format {
        case DimensionType.DENSE.rawValue:
            return .dense(size: Int(try table.scalar(Slot.DimensionMetadata.dense_size, default: Int32(0))))
        case DimensionType.SPARSE_CSR.rawValue:
            let segments = try indexVector(table, Slot.DimensionMetadata.array_segments_type, Slot.DimensionMetadata.array_segments,
                                           field: "\(field).array_segments")
            let indices = try indexVector(table, Slot.DimensionMetadata.array_indices_type, Slot.DimensionMetadata.array_indices,
                                          field: "\(field).array_indices")
            return .compressed(segments: segments, indices: indices)
        default:
            throw H5ToLiteError("\(field).format is \(format), neither DENSE nor SPARSE_CSR")
        }
    }

    /// A `SparseIndexVector` union: int32, uint16 or uint8 values.
    private static func indexVector(_ table: FlatTable, _ typeSlot: Int, _ slot: Int, field: String) throws -> [Int] {
        let type = try table.unionType(typeSlot)
        guard let vector = try table.table(slot) else { throw H5ToLiteError("\(field) is missing") }
        switch SparseIndexVector(rawValue: type) {
        case .Int32Vector?:
            let values = try vector.vector(Slot.Int32Vector.values, elementSize: 4)?.scalars(Int32.self).map(Int.init) ?? []
            guard values.allSatisfy({ $0 >= 0 }) else { throw H5ToLiteError("\(field) holds a negative value") }
            return values
        case .Uint16Vector?:
            return try vector.vector(Slot.Uint16Vector.values, elementSize: 2)?.scalars(UInt16.self).map(Int.init) ?? []
        case .Uint8Vector?:
            return try vector.vector(Slot.Uint8Vector.values, elementSize: 1)?.scalars(UInt8.self).map(Int.init) ?? []
        default:
            throw H5ToLiteError("\(field) has union type \(type), not an index vector")
        }
    }

    /// The dense bytes of a sparse constant: its stored values scattered into place.
    func densified(_ tensor: TensorEntry, layout: SparseLayout, stored: ArraySlice<UInt8>) throws -> [UInt8] {
        guard let size = tensor.type.byteSize else {
            throw H5ToLiteError("tensor '\(tensor.name)' holds sparse \(tensor.type) data, which is not supported")
        }
        let count = try layout.validate(shape: tensor.shape)
        guard stored.count == count * size else {
            throw H5ToLiteError("tensor '\(tensor.name)': buffer \(tensor.buffer) holds \(stored.count) bytes, its sparsity stores \(count) values of \(tensor.type) (\(count * size) bytes)")
        }
        return layout.densify(stored, elementSize: size, shape: tensor.shape)
    }

    /// DENSIFY restores a sparse constant; the reader has densified it already, so its
    /// output is the same value.
    mutating func readDensify(_ op: OperatorEntry) throws {
        try op.expectInputs(1...1)
        let source = tensors[try op.input(0)]
        let target = tensors[try op.output]
        guard source.sparsity != nil, source.buffer > 0 else {
            throw H5ToLiteError("DENSIFY reads '\(source.name)', which is not a sparse constant")
        }
        guard target.type == source.type, target.shape == source.shape, values[target.index] == nil, densifiedFrom[target.index] == nil else {
            throw H5ToLiteError("output '\(target.name)' must be a \(source.type) tensor of shape \(source.shape), written once")
        }
        densifiedFrom[target.index] = source.index
    }
}
