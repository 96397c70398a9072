import H5ToLiteIR

/// Removes ops whose results nothing reads and constants no op reads, then renumbers values.
///
///     %3 "unused": f32[1,4] = relu(%2)
///     output %2
///   ->
///     output %2
let deadCodeElimination = Pass(name: "dead-code-elimination",
                               summary: "remove unused ops and constants, renumber values") { graph, _ in
    var live = Set(graph.outputs)
    var kept: [Op] = []
    for op in graph.ops.reversed() where op.outputs.contains(where: live.contains) {
        kept.append(op)
        live.formUnion(op.inputs)
    }
    graph.ops = kept.reversed()
    live.formUnion(graph.inputs)
    compactValues(&graph, keeping: live)
}

/// Drops values outside `keep` and renumbers the rest in their original order.
func compactValues(_ graph: inout Graph, keeping keep: Set<ValueID>) {
    var newID: [ValueID: ValueID] = [:]
    var values: [Value] = []
    for (id, value) in graph.values.enumerated() where keep.contains(id) {
        newID[id] = values.count
        values.append(value)
    }
    graph.values = values
    graph.inputs = graph.inputs.map { newID[$0]! }
    graph.outputs = graph.outputs.map { newID[$0]! }
    for index in graph.ops.indices {
        graph.ops[index].inputs = graph.ops[index].inputs.map { newID[$0]! }
        graph.ops[index].outputs = graph.ops[index].outputs.map { newID[$0]! }
    }
}
