/// Which output channels of convolutions and dense layers can be removed, and what else
/// removing them touches. Channels flow from the op that makes them (conv, dense, transposed
/// conv) through per-channel ops (BatchNorm or its MUL/ADD by per-channel constants,
/// activations, depthwise convolutions, padding, pooling, spatial means, concatenations) to
/// the weighted ops that read them as input channels. A channel group is a set of channels
/// that must go together: one producer's outputs, or several producers' outputs tied
/// channel by channel by an elementwise op between activations (a residual ADD). A group that
/// reaches a graph output, or an op whose use of channels the analysis does not understand
/// (reshape, softmax over channels, a channel slice, ...), is never pruned.
///
/// DenseNet: each bottleneck conv's output is a group read by the 3x3 conv after it; each
/// growth conv's output is a group that every later concatenation of its block carries, and
/// every later layer's BatchNorm and 1x1 conv (and the transition conv) reads.
public struct ChannelAnalysis: Sendable {
    public var groups: [ChannelGroup]
    /// Each activation's channel (last) axis, cut into groups in order: group indices.
    public var layouts: [ValueID: [Int]]

    /// The channel indices of `value` that stay when group `g` keeps `kept[g]` (sorted, within
    /// the group).
    public func keptChannels(of value: ValueID, kept: [[Int]]) -> [Int] {
        var result: [Int] = []
        var offset = 0
        for group in layouts[value] ?? [] {
            result += kept[group].map { offset + $0 }
            offset += groups[group].size
        }
        return result
    }

    /// Where group `g` starts in `value`'s channels, each time it appears there.
    public func offsets(of group: Int, in value: ValueID) -> [Int] {
        var result: [Int] = []
        var offset = 0
        for member in layouts[value] ?? [] {
            if member == group { result.append(offset) }
            offset += groups[member].size
        }
        return result
    }
}

public struct ChannelGroup: Sendable, Equatable {
    public var size: Int
    /// False when the group reaches a graph output or an op the analysis does not understand.
    public var prunable: Bool
    /// Ops whose output channels (filter axis 0, bias) these are, in graph order.
    public var producers: [Int]
    /// Weighted ops reading these channels as input channels, in graph order.
    public var consumers: [Int]
}

public func analyzeChannels(_ graph: Graph) -> ChannelAnalysis {
    var builder = ChannelGroupBuilder(graph: graph)
    for index in graph.ops.indices { builder.visit(index) }
    for output in graph.outputs { builder.block(output) }
    return builder.finish()
}

/// Walks the ops once, giving each value a layout of raw groups; ties merge raw groups
/// (union-find), blocks mark them.
private struct ChannelGroupBuilder {
    let graph: Graph
    var sizes: [Int] = []
    var blocked: [Bool] = []
    var parent: [Int] = []
    var producers: [[Int]] = []
    var consumers: [[Int]] = []
    var layouts: [ValueID: [Int]] = [:]

    init(graph: Graph) {
        self.graph = graph
    }

    mutating func newGroup(size: Int, producer: Int?, blocked isBlocked: Bool) -> Int {
        sizes.append(size)
        blocked.append(isBlocked)
        parent.append(sizes.count - 1)
        producers.append(producer.map { [$0] } ?? [])
        consumers.append([])
        return sizes.count - 1
    }

    func root(_ group: Int) -> Int {
        var group = group
        while parent[group] != group { group = parent[group] }
        return group
    }

    /// The layout of `id`; a value met for the first time (a graph input, a constant) is one
    /// group that is never pruned.
    mutating func layout(_ id: ValueID) -> [Int] {
        if let known = layouts[id] { return known }
        let group = newGroup(size: graph[id].shape.last ?? 1, producer: nil, blocked: true)
        layouts[id] = [group]
        return [group]
    }

    mutating func block(_ id: ValueID) {
        for group in layout(id) { blocked[root(group)] = true }
    }

    /// Channel i of `a` and channel i of `b` must go together.
    mutating func tie(_ a: ValueID, _ b: ValueID) {
        let (left, right) = (layout(a), layout(b))
        guard left.count == right.count, zip(left, right).allSatisfy({ sizes[$0] == sizes[$1] }) else {
            block(a)
            block(b)
            return
        }
        for (x, y) in zip(left, right) {
            let (rx, ry) = (root(x), root(y))
            guard rx != ry else { continue }
            parent[ry] = rx
            blocked[rx] = blocked[rx] || blocked[ry]
        }
    }

    /// Blocks every operand and gives the outputs groups of their own that are never pruned.
    mutating func opaque(_ op: Op) {
        for input in op.inputs { block(input) }
        for output in op.outputs { _ = newOpaqueLayout(output) }
    }

    mutating func newOpaqueLayout(_ id: ValueID) -> [Int] {
        let group = newGroup(size: graph[id].shape.last ?? 1, producer: nil, blocked: true)
        layouts[id] = [group]
        return [group]
    }

    mutating func visit(_ index: Int) {
        let op = graph.ops[index]
        guard op.outputs.count == 1, let x = op.inputs.first else { return opaque(op) }
        let output = op.outputs[0]
        let channels = graph[output].shape.last ?? 0
        if case .binary = op.kind, op.inputs.count == 2 { return visitElementwise(op, channels: channels) }
        if case .prelu = op.kind, op.inputs.count == 2 { return visitElementwise(op, channels: channels) }
        guard !graph.isConstant(x) else { return opaque(op) }
        switch op.kind {
        case .conv2d, .fullyConnected, .transposeConv2d:
            guard op.inputs.dropFirst().allSatisfy(graph.isConstant) else { return opaque(op) }
            for group in layout(x) { consumers[group].append(index) }
            layouts[output] = [newGroup(size: channels, producer: index, blocked: false)]
        case .depthwiseConv2d(_, let multiplier, _):
            guard multiplier == 1, op.inputs.dropFirst().allSatisfy(graph.isConstant) else { return opaque(op) }
            layouts[output] = layout(x)
        case .batchNormalization:
            guard op.inputs.dropFirst().allSatisfy(graph.isConstant) else { return opaque(op) }
            layouts[output] = layout(x)
        case .unary, .leakyRelu, .identity, .maxPool, .averagePool, .resize:
            layouts[output] = layout(x)
        case .pad(let paddings):
            guard paddings.last == [0, 0] else { return opaque(op) }
            layouts[output] = layout(x)
        case .mean(let axes, _), .reduceMax(let axes, _):
            let rank = graph[x].shape.count
            guard !axes.contains(rank - 1), !axes.contains(-1) else { return opaque(op) }
            layouts[output] = layout(x)
        case .concat(let axis, _):
            let rank = graph[x].shape.count
            guard axis == rank - 1 || axis == -1 else { return opaque(op) }
            layouts[output] = op.inputs.flatMap { layout($0) }
        default:
            opaque(op)
        }
    }

    /// An elementwise op: by a constant that is one number or one per channel, the channels
    /// pass through; between two activations of the same channels, they are tied.
    mutating func visitElementwise(_ op: Op, channels: Int) {
        let (a, b) = (op.inputs[0], op.inputs[1])
        let output = op.outputs[0]
        switch (graph.isConstant(a), graph.isConstant(b)) {
        case (false, true), (true, false):
            let (activation, constant) = graph.isConstant(b) ? (a, b) : (b, a)
            let shape = graph[constant].shape
            let perChannel = shape.dropLast().allSatisfy { $0 == 1 } && (shape.last ?? 1) == channels
            guard elementCount(shape) == 1 || perChannel, graph[activation].shape.last == channels else { return opaque(op) }
            layouts[output] = layout(activation)
        case (false, false):
            guard graph[a].shape.last == channels, graph[b].shape.last == channels else { return opaque(op) }
            tie(a, b)
            layouts[output] = layout(a)
        case (true, true):
            opaque(op)
        }
    }

    /// Merges tied raw groups into the analysis's groups.
    func finish() -> ChannelAnalysis {
        var index: [Int: Int] = [:]
        var groups: [ChannelGroup] = []
        for raw in sizes.indices {
            let r = root(raw)
            if index[r] == nil {
                index[r] = groups.count
                groups.append(ChannelGroup(size: sizes[r], prunable: !blocked[r], producers: [], consumers: []))
            }
            let g = index[r]!
            groups[g].producers += producers[raw]
            groups[g].consumers += consumers[raw]
        }
        for g in groups.indices {
            groups[g].producers = Array(Set(groups[g].producers)).sorted()
            groups[g].consumers = Array(Set(groups[g].consumers)).sorted()
            // A group no weighted op writes is an input's or an opaque op's: it stays.
            if groups[g].producers.isEmpty { groups[g].prunable = false }
        }
        return ChannelAnalysis(groups: groups, layouts: layouts.mapValues { $0.map { index[root($0)]! } })
    }
}
