import H5ToLiteCore
/// Checks the invariants every pass must keep: ops in topological order, each
/// value defined once, and every recorded shape equal to the inferred one.
public func verify(_ graph: Graph) throws {
    var defined = Set(graph.inputs)
    for (id, value) in graph.values.enumerated() where value.constant != nil {
        defined.insert(id)
    }
    for op in graph.ops {
        for input in op.inputs where !defined.contains(input) {
            throw H5ToLiteError("op \(op.kind.name) from \(op.origin) reads %\(input) before it is defined")
        }
        let expected = try inferShape(op.kind, inputs: op.inputs.map { graph[$0].shape })
        for output in op.outputs {
            guard !defined.contains(output) else {
                throw H5ToLiteError("%\(output) is defined twice (by \(op.kind.name) from \(op.origin))")
            }
            guard graph[output].shape == expected else {
                throw H5ToLiteError("op \(op.kind.name) from \(op.origin): %\(output) has shape \(graph[output].shape), inferred \(expected)")
            }
            defined.insert(output)
        }
    }
    for output in graph.outputs where !defined.contains(output) {
        throw H5ToLiteError("graph output %\(output) is never defined")
    }
}
