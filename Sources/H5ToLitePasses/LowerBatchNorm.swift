import H5ToLiteIR

/// Turns each batch_norm into a per-channel multiply and add by constants, which
/// fold-batchnorm then merges into the op before them where it can.
///
///     %6 "bn": f32[1,4,4,2] = batch_norm(%3, %1, %2, %4, %5) {epsilon=0.001}
///   ->
///     %8 "bn/scale": f32[1,4,4,2] = mul(%3, %6)
///     %6 "bn": f32[1,4,4,2] = add(%8, %7)
let lowerBatchNorm = Pass(name: "lower-batchnorm",
                          summary: "turn batch normalization into a per-channel multiply and add") { graph, _ in
    graph = lowerBatchNormalization(graph)
}
