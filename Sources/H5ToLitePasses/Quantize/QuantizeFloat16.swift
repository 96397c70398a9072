import H5ToLiteIR

/// `--quantize float16`: stores every float32 constant as float16 and reads it back to
/// float32 with a DEQUANTIZE op placed before the ops, as TensorFlow lays such files out.
/// Halves the file; the arithmetic stays float32.
///
///     const %1 "conv/kernel": f32[2,1,1,1] [0.5, 0.1]
///     %3 "conv": f32[1,4,4,2] = conv2d(%0, %1, %2) {...}
///   ->
///     const %4 "conv/kernel": f16[2,1,1,1] [0.5, 0.099975586]
///     %5 "conv/kernel/dequantize": f32[2,1,1,1] = dequantize(%4)
///     %3 "conv": f32[1,4,4,2] = conv2d(%0, %5, %2) {...}
let quantizeFloat16 = Pass(name: "quantize-float16",
                           summary: "store float32 weights as float16 behind DEQUANTIZE (--quantize float16)") { graph, _ in
    let used = Set(graph.ops.flatMap(\.inputs))
    var dequantizeOps: [Op] = []
    var replacement: [ValueID: ValueID] = [:]
    for id in graph.values.indices where used.contains(id) {
        guard let floats = graph[id].constant?.floats else { continue }
        let half = graph.addConstant(name: graph[id].name, shape: graph[id].shape,
                                     data: .float16(floats.map { Float16($0).bitPattern }))
        let restored = graph.addValue(Value(name: "\(graph[id].name)/dequantize", dtype: .float32, shape: graph[id].shape))
        dequantizeOps.append(Op(.dequantize, inputs: [half], outputs: [restored], origin: graph[id].name))
        replacement[id] = restored
    }
    for index in graph.ops.indices {
        graph.ops[index].inputs = graph.ops[index].inputs.map { replacement[$0] ?? $0 }
    }
    graph.ops.insert(contentsOf: dequantizeOps, at: 0)
}
