import H5ToLiteIR
import H5ToLiteInterpreter

/// Bias correction for int8: rounding the weights shifts each output channel's mean; the
/// shift, measured between the float and the int8 graph on the calibration data, is folded
/// back into the int32 bias. Applied to convolutions and dense layers without a fused
/// activation (a clamp would make the shift non-linear).
func correctBiases(float: Graph, quantized: inout Graph, samples: Tensor) throws -> Int {
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
private func channelMeans(_ graph: Graph, names: Set<String>, samples: Tensor) throws -> [String: [Float]] {
    var sums: [String: ([Double], Int)] = [:]
    _ = try Interpreter(graph: graph).run([samples]) { id, tensor in
        let name = graph[id].name
        guard names.contains(name), let channels = tensor.shape.last, channels > 0 else { return }
        var entry = sums[name] ?? ([Double](repeating: 0, count: channels), 0)
        for (index, value) in tensor.data.enumerated() { entry.0[index % channels] += Double(value) }
        entry.1 += tensor.data.count / channels
        sums[name] = entry
    }
    return sums.mapValues { sum, count in sum.map { Float($0 / Double(max(count, 1))) } }
}
