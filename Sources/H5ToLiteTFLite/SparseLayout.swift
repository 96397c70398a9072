import H5ToLiteCore

/// How a sparse constant is stored: TFLite's `SparsityParameters`. The tensor's axes may be
/// cut into blocks (`blockMap` names the axis each block dimension splits); the resulting
/// dimensions are stored level by level in `traversalOrder`, each level either dense (every
/// index present) or compressed (CSR: per position of the levels above, a run of the indices
/// present). The buffer holds only the values the levels reach.
public struct SparseLayout: Sendable, Equatable {
    public enum Level: Sendable, Equatable {
        case dense(size: Int)
        /// `segments[p]..<segments[p + 1]` are the entries of `indices` under position `p`
        /// of the level above.
        case compressed(segments: [Int], indices: [Int])
    }

    /// The dimension each level walks: 0..<rank are the tensor's axes (counted in blocks
    /// where blocked), rank + k is the inside of block dimension k.
    public var traversalOrder: [Int]
    public var blockMap: [Int]
    /// One per level, in traversal order.
    public var levels: [Level]

    public init(traversalOrder: [Int], blockMap: [Int], levels: [Level]) {
        self.traversalOrder = traversalOrder
        self.blockMap = blockMap
        self.levels = levels
    }

    /// The size of each block dimension, read from its (dense) level.
    var blockSizes: [Int] {
        let rank = traversalOrder.count - blockMap.count
        return blockMap.indices.map { k in
            guard let level = traversalOrder.firstIndex(of: rank + k), case .dense(let size) = levels[level] else { return 1 }
            return size
        }
    }

    /// A short description for `inspect`: "levels dense 64 / csr, blocks 4 on axis 1".
    public var summary: String {
        let levelText = levels.map { level -> String in
            switch level {
            case .dense(let size): return "dense \(size)"
            case .compressed: return "csr"
            }
        }.joined(separator: " / ")
        let identity = traversalOrder == Array(traversalOrder.indices)
        var text = "levels \(levelText)"
        if !identity { text += ", order \(traversalOrder)" }
        if !blockMap.isEmpty {
            text += ", blocks " + zip(blockMap, blockSizes).map { "\($0.1) on axis \($0.0)" }.joined(separator: ", ")
        }
        return text
    }

    /// Checks the layout against the tensor's shape and returns how many values it stores.
    /// Every failure names the field at fault.
    func validate(shape: [Int]) throws -> Int {
        let rank = shape.count
        let dimensions = rank + blockMap.count
        guard traversalOrder.count == dimensions, Set(traversalOrder) == Set(0..<dimensions) else {
            throw H5ToLiteError("sparsity.traversal_order \(traversalOrder) is not an order of the \(dimensions) dimensions of a rank-\(rank) tensor with \(blockMap.count) block dimension(s)")
        }
        guard blockMap.allSatisfy({ (0..<rank).contains($0) }), Set(blockMap).count == blockMap.count else {
            throw H5ToLiteError("sparsity.block_map \(blockMap) must name distinct axes of a rank-\(rank) tensor")
        }
        guard levels.count == dimensions else {
            throw H5ToLiteError("sparsity.dim_metadata has \(levels.count) entries, traversal_order \(dimensions)")
        }
        let sizes = try dimensionSizes(shape: shape)
        var positions = 1
        for (level, dimension) in traversalOrder.enumerated() {
            let field = "sparsity.dim_metadata[\(level)]"
            switch levels[level] {
            case .dense(let size):
                guard size == sizes[dimension] else {
                    throw H5ToLiteError("\(field).dense_size is \(size), dimension \(dimension) has \(sizes[dimension])")
                }
                let (product, overflow) = positions.multipliedReportingOverflow(by: size)
                guard !overflow, product <= maximumElementCount else {
                    throw H5ToLiteError("\(field).dense_size \(size) makes the tensor too large")
                }
                positions = product
            case .compressed(let segments, let indices):
                guard dimension < rank else {
                    throw H5ToLiteError("\(field) is compressed, but block dimensions must be dense")
                }
                try checkSegments(segments, indices: indices, parents: positions, size: sizes[dimension], field: field)
                positions = indices.count
            }
        }
        return positions
    }

    /// The size of every dimension: the axes counted in blocks, then the blocks' own sizes.
    private func dimensionSizes(shape: [Int]) throws -> [Int] {
        var sizes = shape
        for (k, axis) in blockMap.enumerated() {
            let level = traversalOrder.firstIndex(of: shape.count + k)!
            guard case .dense(let block) = levels[level], block > 0 else {
                throw H5ToLiteError("sparsity.dim_metadata[\(level)] (block dimension \(k)) must be dense with a positive dense_size")
            }
            guard shape[axis] % block == 0 else {
                throw H5ToLiteError("sparsity.dim_metadata[\(level)]: blocks of \(block) do not divide axis \(axis) of size \(shape[axis])")
            }
            sizes[axis] = shape[axis] / block
            sizes.append(block)
        }
        return sizes
    }

    private func checkSegments(_ segments: [Int], indices: [Int], parents: Int, size: Int, field: String) throws {
        guard segments.count == parents + 1 else {
            throw H5ToLiteError("\(field).array_segments has \(segments.count) entries, expected \(parents + 1)")
        }
        guard segments.first == 0, segments.last == indices.count else {
            throw H5ToLiteError("\(field).array_segments must run from 0 to \(indices.count), the length of array_indices")
        }
        for parent in 0..<parents {
            let (start, end) = (segments[parent], segments[parent + 1])
            guard start <= end else {
                throw H5ToLiteError("\(field).array_segments decreases at entry \(parent + 1)")
            }
            guard end <= indices.count else {
                throw H5ToLiteError("\(field).array_segments entry \(parent + 1) is \(end), past the \(indices.count) indices")
            }
            var previous = -1
            for index in indices[start..<end] {
                guard index > previous, index < size else {
                    throw H5ToLiteError("\(field).array_indices: index \(index) under position \(parent) is out of order or outside 0..<\(size)")
                }
                previous = index
            }
        }
    }

    /// Scatters the stored values (`elementSize` bytes each) into a dense, zero-filled
    /// row-major tensor of `shape`. The layout must have been validated against `shape`.
    func densify(_ stored: ArraySlice<UInt8>, elementSize: Int, shape: [Int]) -> [UInt8] {
        let rank = shape.count
        var strides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        // A step along a dimension moves this far in the dense tensor: a whole block along a
        // blocked axis, one element along a block's inside.
        var steps = strides
        for (k, axis) in blockMap.enumerated() {
            steps[axis] = strides[axis] * blockSizes[k]
            steps.append(strides[axis])
        }
        var dense = [UInt8](repeating: 0, count: shape.reduce(1, *) * elementSize)
        stored.withUnsafeBytes { source in
            dense.withUnsafeMutableBytes { target in
                func walk(_ level: Int, _ position: Int, _ offset: Int) {
                    guard level < levels.count else {
                        target.baseAddress!.advanced(by: offset * elementSize)
                            .copyMemory(from: source.baseAddress!.advanced(by: position * elementSize), byteCount: elementSize)
                        return
                    }
                    let step = steps[traversalOrder[level]]
                    switch levels[level] {
                    case .dense(let size):
                        for index in 0..<size { walk(level + 1, position * size + index, offset + index * step) }
                    case .compressed(let segments, let indices):
                        for entry in segments[position]..<segments[position + 1] {
                            walk(level + 1, entry, offset + indices[entry] * step)
                        }
                    }
                }
                walk(0, 0, 0)
            }
        }
        return dense
    }
}
