import H5ToLiteCore
import H5ToLiteIR

/// A STRIDED_SLICE with its masks and negative indices resolved, as TFLite's
/// strided_slice_logic computes them for positive strides: in-range begin and end
/// per axis, and the axes `shrink_axis_mask` removes from the result.
struct SliceSpec {
    var begin: [Int]
    var end: [Int]
    var strides: [Int]
    var shrunk: [Bool]

    /// Shape of the slice before shrunk axes are removed.
    var slicedShape: [Int] {
        begin.indices.map { max(0, (end[$0] - begin[$0] + strides[$0] - 1) / strides[$0]) }
    }

    var outputShape: [Int] {
        slicedShape.indices.filter { !shrunk[$0] }.map { slicedShape[$0] }
    }

    /// The selected elements of a row-major tensor.
    func gather<T>(_ values: [T], shape: [Int]) -> [T] {
        let sizes = slicedShape
        guard !sizes.contains(0) else { return [] }
        var rowStrides = Array(repeating: 1, count: shape.count)
        for axis in shape.indices.dropLast().reversed() {
            rowStrides[axis] = rowStrides[axis + 1] * shape[axis + 1]
        }
        var result: [T] = []
        var coordinate = Array(repeating: 0, count: shape.count)
        repeat {
            let flat = shape.indices.reduce(0) { $0 + (begin[$1] + coordinate[$1] * strides[$1]) * rowStrides[$1] }
            result.append(values[flat])
        } while advance(&coordinate, within: sizes)
        return result
    }
}

/// Steps a row-major coordinate; false once it has wrapped past the last element.
private func advance(_ coordinate: inout [Int], within sizes: [Int]) -> Bool {
    for axis in sizes.indices.reversed() {
        coordinate[axis] += 1
        if coordinate[axis] < sizes[axis] { return true }
        coordinate[axis] = 0
    }
    return false
}

extension TFLiteGraphReader {
    mutating func resolveSlice(_ op: OperatorEntry, inputShape: [Int]) throws -> SliceSpec {
        try op.expectInputs(4...4)
        let options = try op.options(.StridedSliceOptions)
        func mask(_ slot: Int) throws -> Int { Int(try options?.scalar(slot, default: Int32(0)) ?? 0) }
        guard try mask(Slot.StridedSliceOptions.ellipsis_mask) == 0, try mask(Slot.StridedSliceOptions.new_axis_mask) == 0,
              try options?.bool(Slot.StridedSliceOptions.offset, default: false) != true else {
            throw H5ToLiteError("STRIDED_SLICE with an ellipsis, new-axis mask or offset is not supported")
        }
        let begin = try ints(try op.input(1)).values
        let end = try ints(try op.input(2)).values
        let strides = try ints(try op.input(3)).values
        let rank = inputShape.count
        guard begin.count == end.count, begin.count == strides.count, begin.count <= rank else {
            throw H5ToLiteError("STRIDED_SLICE has \(begin.count) begins, \(end.count) ends, \(strides.count) strides for rank \(rank)")
        }
        let beginMask = try mask(Slot.StridedSliceOptions.begin_mask)
        let endMask = try mask(Slot.StridedSliceOptions.end_mask)
        let shrinkMask = try mask(Slot.StridedSliceOptions.shrink_axis_mask)
        var spec = SliceSpec(begin: [], end: [], strides: [], shrunk: [])
        for axis in 0..<rank {
            let size = inputShape[axis]
            guard axis < begin.count else {
                spec.append(begin: 0, end: size, stride: 1, shrunk: false)
                continue
            }
            guard strides[axis] > 0 else {
                throw H5ToLiteError("STRIDED_SLICE stride \(strides[axis]) on axis \(axis) is not supported (only positive strides)")
            }
            let start = beginMask & (1 << axis) != 0 ? 0 : clampIndex(begin[axis], size)
            if shrinkMask & (1 << axis) != 0 {
                let index = begin[axis] < 0 ? begin[axis] + size : begin[axis]
                guard index >= 0, index < size else {
                    throw H5ToLiteError("STRIDED_SLICE index \(begin[axis]) is out of range for axis \(axis) of size \(size)")
                }
                spec.append(begin: index, end: index + 1, stride: 1, shrunk: true)
                continue
            }
            let stop = endMask & (1 << axis) != 0 ? size : clampIndex(end[axis], size)
            // A stride past the axis size selects one element, as the size itself does.
            spec.append(begin: start, end: max(start, stop), stride: min(strides[axis], max(size, 1)), shrunk: false)
        }
        return spec
    }
}

private func clampIndex(_ index: Int, _ size: Int) -> Int {
    min(max(index < 0 ? index + size : index, 0), size)
}

private extension SliceSpec {
    mutating func append(begin: Int, end: Int, stride: Int, shrunk: Bool) {
        self.begin.append(begin)
        self.end.append(end)
        strides.append(stride)
        self.shrunk.append(shrunk)
    }
}
