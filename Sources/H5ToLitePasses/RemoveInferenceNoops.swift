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
    while let index = graph.ops.firstIndex(where: { $0.kind == .identity }) {
        let op = graph.ops.remove(at: index)
        let (input, output) = (op.inputs[0], op.outputs[0])
        // A model output keeps its name: the value feeding it takes over the name.
        if graph.outputs.contains(output) && !graph.inputs.contains(input) && !graph.isConstant(input) {
            graph[input].name = graph[output].name
        }
        graph.replaceUses(of: output, with: input)
    }
}
