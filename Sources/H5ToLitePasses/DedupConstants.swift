import H5ToLiteIR

/// Makes ops share one constant where several hold identical data (same type, shape and
/// values), so the file stores one buffer for them; then ops that compute the same thing from
/// the same constants (a float16 weight's DEQUANTIZE) become one, as in TensorFlow's files.
///
///     const %1 "a/bias": f32[2] [0.0, 0.0]
///     const %2 "b/bias": f32[2] [0.0, 0.0]
///     %3 = add(%0, %1)
///     %4 = add(%3, %2)
///   ->
///     %3 = add(%0, %1)
///     %4 = add(%3, %1)
let dedupConstants = Pass(name: "dedup-constants",
                          summary: "share one buffer between identical constants, one op between ops on them") { graph, _ in
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
    replaceUses(&graph, replacement)
    shareOpsOnConstants(&graph)
}

/// Ops of one kind reading the same constants compute the same values: later ones go, their
/// readers read the first one's result. Graph outputs keep their own op (and name).
private func shareOpsOnConstants(_ graph: inout Graph) {
    var firstOutput: [Int: [(kind: OpKind, inputs: [ValueID], output: ValueID)]] = [:]
    var replacement: [ValueID: ValueID] = [:]
    var duplicates = Set<Int>()
    let outputs = Set(graph.outputs)
    for (index, op) in graph.ops.enumerated() where op.outputs.count == 1 && !outputs.contains(op.outputs[0])
        && !op.inputs.isEmpty && op.inputs.allSatisfy({ graph[$0].constant != nil }) {
        let key = op.inputs[0]
        if let earlier = firstOutput[key, default: []].first(where: { $0.kind == op.kind && $0.inputs == op.inputs
                                                                       && graph[$0.output].shape == graph[op.outputs[0]].shape
                                                                       && graph[$0.output].dtype == graph[op.outputs[0]].dtype
                                                                       && graph[$0.output].quantization == graph[op.outputs[0]].quantization }) {
            replacement[op.outputs[0]] = earlier.output
            duplicates.insert(index)
        } else {
            firstOutput[key, default: []].append((op.kind, op.inputs, op.outputs[0]))
        }
    }
    guard !duplicates.isEmpty else { return }
    graph.ops = graph.ops.enumerated().filter { !duplicates.contains($0.offset) }.map(\.element)
    replaceUses(&graph, replacement)
}

private func replaceUses(_ graph: inout Graph, _ replacement: [ValueID: ValueID]) {
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
