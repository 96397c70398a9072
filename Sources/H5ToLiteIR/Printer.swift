import Foundation

/// Deterministic text form of a graph, used by dumps and golden tests.
///
///     graph "mini" {
///       input %0 "input_1": f32[1,8,8,3]
///       const %1 "conv/kernel": f32[4,3,3,3] {count=108 min=-0.5 max=0.49 mean=0.01}
///       %2 "conv": f32[1,8,8,4] = conv2d(%0, %1) {window=3x3 stride=1x1 dilation=1x1 padding=same activation=relu}
///       output %2
///     }
///
/// Constants of more than eight elements print as a summary unless `fullConstants` is set;
/// `parseGraph` reads only the full form.
public func printGraph(_ graph: Graph, fullConstants: Bool = false) -> String {
    var lines = ["graph \(quote(graph.name)) {"]
    for id in graph.inputs {
        lines.append("  input %\(id) \(quote(graph[id].name)): \(typeText(graph[id], full: fullConstants))")
    }
    let used = Set(graph.ops.flatMap(\.inputs))
    for (id, value) in graph.values.enumerated() where value.constant != nil && used.contains(id) {
        lines.append("  const %\(id) \(quote(value.name)): \(typeText(value, full: fullConstants)) \(constantText(value.constant!, full: fullConstants))")
    }
    for op in graph.ops {
        let results = op.outputs.map { "%\($0) \(quote(graph[$0].name)): \(typeText(graph[$0], full: fullConstants))" }
        let args = op.inputs.map { "%\($0)" }.joined(separator: ", ")
        let attributes = attributeText(op.kind)
        let attributePart = attributes.isEmpty ? "" : " {\(attributes)}"
        lines.append("  \(results.joined(separator: ", ")) = \(op.kind.name)(\(args))\(attributePart)")
    }
    lines.append("  output " + graph.outputs.map { "%\($0)" }.joined(separator: ", "))
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}

/// Shortest text that reads back as the same Float.
public func formatFloat(_ value: Float) -> String {
    "\(value)"
}

private func quote(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// `f32[1,8,8,4]`, then `quant(scale=[...], zero_point=[...], axis=N)` and
/// `range(min, max)` when the value carries them.
private func typeText(_ value: Value, full: Bool) -> String {
    var text = "\(value.dtype.shortName)[\(value.shape.map(String.init).joined(separator: ","))]"
    if let q = value.quantization {
        text += " quant(scale=\(listOrSummary(q.scales, full: full)), zero_point=\(listOrSummary(q.zeroPoints.map(Float.init), full: full, integers: true)), axis=\(q.axis))"
    }
    if let range = value.range {
        text += " range(\(formatFloat(range.min)), \(formatFloat(range.max)))"
    }
    return text
}

private func listOrSummary(_ values: [Float], full: Bool, integers: Bool = false) -> String {
    guard full || values.count <= 8 else { return summary(values) }
    return "[" + values.map { integers ? String(Int($0)) : formatFloat($0) }.joined(separator: ", ") + "]"
}

private func summary(_ values: [Float]) -> String {
    let sum = values.reduce(0.0) { $0 + Double($1) }
    return "{count=\(values.count) min=\(formatFloat(values.min() ?? 0)) max=\(formatFloat(values.max() ?? 0)) "
        + "mean=\(formatFloat(Float(sum / Double(max(values.count, 1)))))}"
}

private func constantText(_ data: ConstantData, full: Bool) -> String {
    switch data {
    case .float32(let values): return listOrSummary(values, full: full)
    case .float16(let values): return listOrSummary(values.map { Float(Float16(bitPattern: $0)) }, full: full)
    case .int32(let values): return listOrSummary(values.map(Float.init), full: full, integers: true)
    case .int8(let values): return listOrSummary(values.map(Float.init), full: full, integers: true)
    }
}

private func listText(_ values: [Int]) -> String {
    "[" + values.map(String.init).joined(separator: ",") + "]"
}

/// `2x2` for two window axes, `1x2x2` for three.
private func dimsText(_ values: [Int]) -> String {
    values.map(String.init).joined(separator: "x")
}

private func windowText(_ w: Window, withSize: Bool) -> String {
    (withSize ? "window=\(dimsText(w.size)) " : "")
        + "stride=\(dimsText(w.stride)) dilation=\(dimsText(w.dilation)) padding=\(w.padding.rawValue)"
}

private func activationText(_ a: FusedActivation) -> String {
    a == .none ? "" : " activation=\(a.rawValue)"
}

private func attributeText(_ kind: OpKind) -> String {
    switch kind {
    case .conv2d(let w, let a), .conv3d(let w, let a):
        return windowText(w, withSize: false) + activationText(a)
    case .depthwiseConv2d(let w, let m, let a):
        return windowText(w, withSize: false) + " multiplier=\(m)" + activationText(a)
    case .maxPool(let w, let a), .averagePool(let w, let a):
        return windowText(w, withSize: true) + activationText(a)
    case .fullyConnected(let a), .binary(_, let a):
        return String(activationText(a).dropFirst())
    case .mean(let axes, let keep), .reduceMax(let axes, let keep):
        return "axes=\(listText(axes)) keep_dims=\(keep)"
    case .concat(let axis, let a):
        return "axis=\(axis)" + activationText(a)
    case .pad(let paddings):
        return "paddings=[" + paddings.map(listText).joined(separator: ",") + "]"
    case .reshape(let shape):
        return "shape=\(listText(shape))"
    case .transpose(let perm):
        return "perm=\(listText(perm))"
    case .stridedSlice(let begin, let end, let strides):
        return "begin=\(listText(begin)) end=\(listText(end)) strides=\(listText(strides))"
    case .softmax(let beta):
        return "beta=\(formatFloat(beta))"
    case .batchNormalization(let epsilon):
        return "epsilon=\(formatFloat(epsilon))"
    case .leakyRelu(let alpha):
        return "alpha=\(formatFloat(alpha))"
    case .resize(_, let size, let align, let half):
        return "size=\(listText(size)) align_corners=\(align) half_pixel_centers=\(half)"
    case .batchMatMul(let adjointX, let adjointY):
        return "adj_x=\(adjointX) adj_y=\(adjointY)"
    case .unary, .prelu, .identity, .greater, .select, .quantize, .dequantize:
        return ""
    case .transposeConv2d(let w, let size, let a):
        return windowText(w, withSize: false) + " output_size=\(listText(size))" + activationText(a)
    }
}
