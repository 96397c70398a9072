import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteInterpreter

/// Bias correction for int8 (`--bias-correction`): rounding the weights shifts each output
/// channel's mean; the shift, measured between the float graph quantize-int8 started from
/// and the int8 graph on the calibration data, is folded back into the int32 bias. Applied
/// to convolutions and dense layers without a fused activation (a clamp would make the
/// shift non-linear).
///
///     const %6 "conv/bias": i32[4] quant(...) [120, -37, 5, 0]
///   ->
///     const %6 "conv/bias": i32[4] quant(...) [118, -35, 5, 1]
let correctInt8Biases = Pass(name: "correct-int8-biases",
                             summary: "fold each int8 channel's mean shift against float into its bias (--bias-correction)",
                             readsGraphBefore: ["quantize-int8"]) { graph, context in
    let samples = try context.calibrationSamples(for: "correct-int8-biases")
    let float = try context.graphBefore(for: correctInt8Biases)
    let corrected = try correctBiases(float: float, quantized: &graph, samples: samples)
    context.note("correct-int8-biases: bias correction on \(corrected) layers")
}

private func correctBiases(float: Graph, quantized: inout Graph, samples: [Tensor]) throws -> Int {
    let targets = quantized.ops.filter { op in
        guard let operands = op.kind.facts.weights, op.kind.fusedActivation == FusedActivation.none,
              op.inputs.count > operands.bias else { return false }
        return quantized[op.inputs[operands.bias]].dtype == .int32 && quantized[op.outputs[0]].dtype == .int8
    }
    let names = Set(targets.map { quantized[$0.outputs[0]].name })
    let floatMeans = try channelMeans(float, names: names, samples: samples)
    let quantizedMeans = try channelMeans(quantized, names: names, samples: samples)
    var corrected = 0
    for op in targets {
        let name = quantized[op.outputs[0]].name
        let biasID = op.inputs[op.kind.facts.weights!.bias]
        guard let expected = floatMeans[name], let actual = quantizedMeans[name],
              case .int32(var bias)? = quantized[biasID].constant, let scales = quantized[biasID].quantization?.scales,
              bias.count == expected.count, scales.count == bias.count else { continue }
        for c in bias.indices {
            let shift = (expected[c] - actual[c]) / scales[c]
            bias[c] = Int32(clamping: Int64(bias[c]) + Int64(shift.rounded()))
        }
        quantized[biasID].constant = .int32(bias)
        corrected += 1
    }
    return corrected
}

/// Per-channel mean of the named values over all samples and positions.
private func channelMeans(_ graph: Graph, names: Set<String>, samples: [Tensor]) throws -> [String: [Float]] {
    var sums: [String: ([Double], Int)] = [:]
    _ = try Interpreter(graph: graph).run(samples) { id, tensor in
        let name = graph[id].name
        guard names.contains(name), let channels = tensor.shape.last, channels > 0 else { return }
        var entry = sums[name] ?? ([Double](repeating: 0, count: channels), 0)
        for (index, value) in tensor.data.enumerated() { entry.0[index % channels] += Double(value) }
        entry.1 += tensor.data.count / channels
        sums[name] = entry
    }
    return sums.mapValues { sum, count in sum.map { Float($0 / Double(max(count, 1))) } }
}
