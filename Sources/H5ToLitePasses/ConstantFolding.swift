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
    var index = 0
    while index < graph.ops.count {
        let op = graph.ops[index]
        guard op.outputs.count == 1, !op.inputs.isEmpty, op.inputs.allSatisfy({ graph[$0].constant?.floats != nil }),
              graph[op.outputs[0]].dtype == .float32 else {
            index += 1
            continue
        }
        var single = Graph(name: op.origin)
        single.values = graph.values
        single.ops = [op]
        single.outputs = op.outputs
        let result = try Interpreter(graph: single, threads: 1).run([])[0]
        let output = graph[op.outputs[0]]
        let folded = graph.addConstant(name: output.name, shape: output.shape, data: .float32(result.data))
        graph.replaceUses(of: op.outputs[0], with: folded)
        graph.ops.remove(at: index)
    }
}
