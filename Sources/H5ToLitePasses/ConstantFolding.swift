import H5ToLiteIR
import H5ToLiteInterpreter

/// Evaluates ops whose inputs are all constants with the interpreter's own kernels and
/// replaces them by their result, so the file carries data instead of arithmetic.
///
///     const %1 "a": f32[2] [1.0, 2.0]
///     const %2 "b": f32[2] [3.0, 4.0]
///     %3 "sum": f32[2] = add(%1, %2)
///   ->
///     const %4 "sum": f32[2] [4.0, 6.0]
let constantFolding = Pass(name: "constant-folding",
                           summary: "evaluate ops whose inputs are all constant") { graph, _ in
    var rewriter = GraphRewriter(graph)
    for index in graph.ops.indices {
        // Earlier folds may have turned this op's inputs into constants.
        let op = rewriter.ops[index]
        guard let result = try evaluated(op, rewriter.graph) else { continue }
        let output = rewriter[op.outputs[0]]
        let folded = rewriter.addConstant(name: output.name, shape: output.shape, data: .float32(result))
        rewriter.replaceUses(of: op.outputs[0], with: folded)
        rewriter.removeOp(index)
    }
    graph = rewriter.finish()
}

/// The float32 result of `op`, if all its inputs are float32 constants.
private func evaluated(_ op: Op, _ graph: Graph) throws -> [Float]? {
    guard op.outputs.count == 1, !op.inputs.isEmpty, op.inputs.allSatisfy({ graph[$0].constant?.floats != nil }),
          graph[op.outputs[0]].dtype == .float32 else { return nil }
    var single = Graph(name: op.origin)
    single.values = graph.values
    single.ops = [op]
    single.outputs = op.outputs
    return try Interpreter(graph: single, threads: 1).run([])[0].data
}
