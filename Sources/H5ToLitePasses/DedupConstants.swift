import H5ToLiteIR

/// Makes ops share one constant where several hold identical data (same type, shape and
/// values), so the file stores one buffer for them.
///
///     const %1 "a/bias": f32[2] [0.0, 0.0]
///     const %2 "b/bias": f32[2] [0.0, 0.0]
///     %3 = add(%0, %1)
///     %4 = add(%3, %2)
///   ->
///     %3 = add(%0, %1)
///     %4 = add(%3, %1)
let dedupConstants = Pass(name: "dedup-constants",
                          summary: "share one buffer between identical constants") { graph, _ in
    var first: [ConstantKey: ValueID] = [:]
    var replacement: [ValueID: ValueID] = [:]
    for (id, value) in graph.values.enumerated() {
        guard let data = value.constant else { continue }
        let key = ConstantKey(shape: value.shape, data: data, quantization: value.quantization)
        if let existing = first[key] {
            replacement[id] = existing
        } else {
            first[key] = id
        }
    }
    guard !replacement.isEmpty else { return }
    for index in graph.ops.indices {
        graph.ops[index].inputs = graph.ops[index].inputs.map { replacement[$0] ?? $0 }
    }
}

private struct ConstantKey: Hashable {
    let shape: [Int]
    let data: ConstantData
    let quantization: Quantization?

    /// Bit for bit, as the hash sees them: 0.0 and -0.0 (equal as numbers) are different data,
    /// so whether they share a buffer cannot depend on where the hash puts them.
    static func == (a: ConstantKey, b: ConstantKey) -> Bool {
        a.shape == b.shape && a.data.dtype == b.data.dtype && a.quantization == b.quantization
            && a.data.withUnsafeBytes { x in b.data.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(shape)
        hasher.combine(data.dtype.rawValue)
        data.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
