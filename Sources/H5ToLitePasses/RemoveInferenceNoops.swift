import H5ToLiteIR

/// Removes ops that do nothing at inference time (Dropout, GaussianNoise, linear
/// activations), which import as `identity`.
///
///     %1 "dropout": f32[1,10] = identity(%0)
///     %2 "dense": f32[1,2] = fully_connected(%1, %w, %b)
///   ->
///     %2 "dense": f32[1,2] = fully_connected(%0, %w, %b)
let removeInferenceNoops = Pass(name: "remove-inference-noops",
                                summary: "drop Dropout, noise and other identity layers") { graph, _ in
    var rewriter = GraphRewriter(graph)
    for index in graph.ops.indices where graph.ops[index].kind == .identity {
        // An identity before this one may have replaced its input.
        let (input, output) = (rewriter.ops[index].inputs[0], rewriter.ops[index].outputs[0])
        rewriter.removeOp(index)
        // A model output keeps its name: the value feeding it takes over the name.
        if rewriter.graph.outputs.contains(output) && !rewriter.graph.inputs.contains(input) && !rewriter.graph.isConstant(input) {
            rewriter[input].name = rewriter[output].name
        }
        rewriter.replaceUses(of: output, with: input)
    }
    graph = rewriter.finish()
}
