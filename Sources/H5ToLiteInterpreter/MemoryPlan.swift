/// A buffer the interpreter needs from step `first` through step `last`.
struct BufferLifetime {
    let count: Int
    let first: Int
    let last: Int

    func overlaps(_ other: BufferLifetime) -> Bool {
        first <= other.last && other.first <= last
    }
}

/// Places buffers in one arena so that buffers alive at the same time never
/// share memory, largest first, each at the lowest offset that fits (the
/// greedy-by-size strategy of TFLite's arena planner). Offsets are in floats,
/// aligned to 64 bytes.
func planArena(_ buffers: [BufferLifetime]) -> (offsets: [Int], count: Int) {
    let alignment = 16
    var offsets = Array(repeating: 0, count: buffers.count)
    var placed: [Int] = []
    var total = 0
    for index in buffers.indices.sorted(by: { buffers[$0].count > buffers[$1].count }) {
        let size = (buffers[index].count + alignment - 1) / alignment * alignment
        let neighbours = placed.filter { buffers[$0].overlaps(buffers[index]) }.sorted { offsets[$0] < offsets[$1] }
        var candidate = 0
        for other in neighbours {
            if candidate + size <= offsets[other] { break }
            candidate = max(candidate, offsets[other] + buffers[other].count)
            candidate = (candidate + alignment - 1) / alignment * alignment
        }
        offsets[index] = candidate
        placed.append(index)
        total = max(total, candidate + size)
    }
    return (offsets, total)
}
