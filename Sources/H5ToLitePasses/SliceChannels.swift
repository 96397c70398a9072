import H5ToLiteCore
import H5ToLiteIR

/// Removes the channels that no conv, depthwise-fed conv or dense layer reads: in every
/// prunable channel group (see `analyzeChannels`), a channel whose input weights are zero in
/// every layer reading it is cut from every tensor it passes through: the producers' filters
/// (output axis) and biases, BatchNorm and per-channel MUL/ADD constants, depthwise filters,
/// and the readers' filters (input axis). The result computes exactly what the graph did and is
/// an ordinary dense graph with smaller tensors. prune-channels zeroes the channels it chose.
///
///     %3 "conv": f32[1,8,8,4] = conv2d(%0, %1, %2)       (%5's input channel 2 all zero)
///     %6 "head": f32[1,8,8,2] = conv2d(%3, %5)
///   ->
///     %3 "conv": f32[1,8,8,3] = conv2d(%0, %1', %2')
///     %6 "head": f32[1,8,8,2] = conv2d(%3, %5')
let sliceChannels = Pass(name: "slice-channels",
                         summary: "cut the channels no layer reads out of every tensor (--prune-channels)") { graph, context in
    let analysis = analyzeChannels(graph)
    let kept = readChannels(graph, analysis)
    guard zip(kept, analysis.groups).contains(where: { $0.count < $1.size }) else { return }
    let before = (multiplyAdds(graph), readParameterCount(graph))
    graph = try slicedGraph(graph, analysis, kept: kept)
    context.note("slice-channels: multiply-adds \(before.0) -> \(multiplyAdds(graph)) "
                 + "(\(percent(1 - Double(multiplyAdds(graph)) / Double(max(before.0, 1)))) removed), "
                 + "parameters \(before.1) -> \(readParameterCount(graph))")
    for (group, channels) in zip(analysis.groups, kept) where group.prunable && !group.consumers.isEmpty {
        context.note("slice-channels: \(groupName(group, graph)): \(channels.count)/\(group.size) channels kept")
    }
}

/// Parameters in the constants ops read (the replaced ones stay in the graph until
/// dead-code-elimination).
private func readParameterCount(_ graph: Graph) -> Int {
    Set(graph.ops.flatMap(\.inputs)).reduce(0) { $0 + (graph[$1].constant?.count ?? 0) }
}

/// The Keras layers writing a group's channels, for reports.
func groupName(_ group: ChannelGroup, _ graph: Graph) -> String {
    group.producers.map { graph.ops[$0].origin }.joined(separator: "+")
}

/// Per group, the channels some reader's weights use (all channels of a group that is never
/// pruned; at least one of every group, so no tensor is left empty).
func readChannels(_ graph: Graph, _ analysis: ChannelAnalysis) -> [[Int]] {
    analysis.groups.indices.map { g in
        let group = analysis.groups[g]
        guard group.prunable, !group.consumers.isEmpty else { return Array(0..<group.size) }
        var read = [Bool](repeating: false, count: group.size)
        for consumer in group.consumers {
            let op = graph.ops[consumer]
            let used = usedInputChannels(graph[filterOperand(of: op)])
            for offset in analysis.offsets(of: g, in: op.inputs[0]) {
                for c in 0..<group.size where used[offset + c] { read[c] = true }
            }
        }
        let channels = read.indices.filter { read[$0] }
        return channels.isEmpty ? [0] : channels
    }
}

/// Whether each input channel (the filter's last axis: OHWI or [O, I]) has a nonzero weight.
private func usedInputChannels(_ filter: Value) -> [Bool] {
    let inputs = filter.shape.last ?? 1
    var used = [Bool](repeating: false, count: inputs)
    guard let weights = filter.constant?.floats else { return [Bool](repeating: true, count: inputs) }
    for (index, weight) in weights.enumerated() where weight != 0 { used[index % inputs] = true }
    return used
}

/// The graph with every tensor cut down to the kept channels.
func slicedGraph(_ graph: Graph, _ analysis: ChannelAnalysis, kept: [[Int]]) throws -> Graph {
    var result = graph
    for index in graph.ops.indices {
        let op = graph.ops[index]
        let output = op.outputs[0]
        let keptOut = analysis.keptChannels(of: output, kept: kept)
        let outChannels = graph[output].shape.last ?? 0
        let cutOut = analysis.layouts[output] != nil && keptOut.count < outChannels
        func cut(_ position: Int, axis: Int, _ channels: [Int]) {
            let id = result.ops[index].inputs[position]
            result.ops[index].inputs[position] = slicedConstant(&result, id, axis: axis, keep: channels)
        }
        switch op.kind {
        case .conv2d, .transposeConv2d, .fullyConnected:
            let rank = graph[op.inputs[1]].shape.count
            let keptIn = analysis.keptChannels(of: op.inputs[0], kept: kept)
            if keptIn.count < (graph[op.inputs[0]].shape.last ?? 0) { cut(1, axis: rank - 1, keptIn) }
            if cutOut {
                cut(1, axis: 0, keptOut)
                if op.inputs.count > 2 { cut(2, axis: 0, keptOut) }
            }
        case .depthwiseConv2d where cutOut:
            cut(1, axis: 3, keptOut)
            if op.inputs.count > 2 { cut(2, axis: 0, keptOut) }
        case .batchNormalization where cutOut:
            for position in 1...4 { cut(position, axis: 0, keptOut) }
        case .binary, .prelu:
            for position in op.inputs.indices where cutOut && graph.isConstant(op.inputs[position]) {
                let shape = graph[op.inputs[position]].shape
                if shape.last == outChannels && outChannels > 1 { cut(position, axis: shape.count - 1, keptOut) }
            }
        default:
            break
        }
        let shapes = result.ops[index].inputs.map { result[$0].shape }
        result[output].shape = try inferShape(op.kind, inputs: shapes)
    }
    return result
}

/// A new constant holding `id`'s slices `keep` along `axis`.
private func slicedConstant(_ graph: inout Graph, _ id: ValueID, axis: Int, keep: [Int]) -> ValueID {
    let value = graph[id]
    var shape = value.shape
    let data: ConstantData
    switch value.constant! {
    case .float32(let v): data = .float32(slices(v, shape, axis, keep))
    case .int32(let v): data = .int32(slices(v, shape, axis, keep))
    case .int8(let v): data = .int8(slices(v, shape, axis, keep))
    case .float16(let v): data = .float16(slices(v, shape, axis, keep))
    }
    shape[axis] = keep.count
    return graph.addConstant(name: value.name, shape: shape, data: data)
}

private func slices<T>(_ values: [T], _ shape: [Int], _ axis: Int, _ keep: [Int]) -> [T] {
    let inner = elementCount(Array(shape[(axis + 1)...]))
    let outer = elementCount(Array(shape[..<axis]))
    var result: [T] = []
    result.reserveCapacity(outer * keep.count * inner)
    for o in 0..<outer {
        for k in keep {
            let start = (o * shape[axis] + k) * inner
            result += values[start..<start + inner]
        }
    }
    return result
}
