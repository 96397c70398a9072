/// The graph in Graphviz's DOT language: one box per op, labelled with its kind and output
/// shape; constants are folded into their op's label to keep large models readable.
public func dotGraph(_ graph: Graph) -> String {
    var lines = ["digraph \"\(escape(graph.name))\" {", "  rankdir=TB;", "  node [shape=box, fontname=\"Helvetica\"];"]
    let producers = graph.producers()
    for id in graph.inputs {
        lines.append("  v\(id) [shape=ellipse, label=\"\(escape(graph[id].name))\\n\(shapeText(graph[id].shape))\"];")
    }
    for (index, op) in graph.ops.enumerated() {
        let constants = op.inputs.filter { graph.isConstant($0) }.map { shapeText(graph[$0].shape) }
        let weights = constants.isEmpty ? "" : "\\nconst " + constants.joined(separator: " ")
        let activation = op.kind.fusedActivation.map { $0 == .none ? "" : " + \($0.rawValue)" } ?? ""
        let label = "\(op.kind.name)\(activation)\\n\(escape(graph[op.outputs[0]].name))\\n\(shapeText(graph[op.outputs[0]].shape))\(weights)"
        lines.append("  op\(index) [label=\"\(label)\"];")
        for input in op.inputs where !graph.isConstant(input) {
            let source = producers[input].map { "op\($0)" } ?? "v\(input)"
            lines.append("  \(source) -> op\(index);")
        }
    }
    for (position, id) in graph.outputs.enumerated() {
        lines.append("  out\(position) [shape=ellipse, label=\"output \(position)\"];")
        lines.append("  \(producers[id].map { "op\($0)" } ?? "v\(id)") -> out\(position);")
    }
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
}

private func shapeText(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
}
