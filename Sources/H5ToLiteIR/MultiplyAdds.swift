/// Multiply-adds one inference of a single sample costs in the convolutions, dense layers
/// and matrix products (elementwise ops are not counted: they are a small share and cost
/// memory traffic, not arithmetic): what channel pruning removes and `compare` reports.
public func multiplyAdds(_ graph: Graph) -> Int {
    graph.ops.reduce(0) { $0 + multiplyAdds(of: $1, in: graph) }
}

public func multiplyAdds(of op: Op, in graph: Graph) -> Int {
    let output = op.outputs.first.map { Array(graph[$0].shape.dropFirst()) } ?? []
    let filter = op.inputs.count > 1 ? graph[op.inputs[1]].shape : []
    switch op.kind {
    case .conv2d where filter.count == 4:
        return elementCount(output) * filter[1] * filter[2] * filter[3]
    case .depthwiseConv2d where filter.count == 4:
        return elementCount(output) * filter[1] * filter[2]
    case .fullyConnected where filter.count == 2:
        return elementCount(output) * filter[1]
    case .transposeConv2d where filter.count == 4:
        return elementCount(Array(graph[op.inputs[0]].shape.dropFirst())) * filter[0] * filter[1] * filter[2]
    case .batchMatMul(let adjointX, _):
        let x = graph[op.inputs[0]].shape
        guard x.count >= 2 else { return 0 }
        return elementCount(output) * (adjointX ? x[x.count - 2] : x[x.count - 1])
    default:
        return 0
    }
}
