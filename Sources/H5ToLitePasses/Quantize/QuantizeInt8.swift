import H5ToLiteCore
import H5ToLiteIR

/// `--quantize int8`, second step: turns every op TFLite runs in int8 into an int8 op, from
/// the ranges `calibrate` recorded. Activations are asymmetric per tensor; weights
/// symmetric int8 per output channel (CONV_2D and FULLY_CONNECTED axis 0,
/// DEPTHWISE_CONV_2D axis 3), PRELU's alpha symmetric per tensor; biases int32 at input scale x weight scale; LOGISTIC and
/// SOFTMAX outputs fixed at (1/256, -128), TANH at (1/128, 0). Ops that only move data
/// (pools, pad, reshape, concatenation) share one set of parameters with their inputs, so
/// DenseNet's and Inception's concatenations need no requantization. QUANTIZE and
/// DEQUANTIZE ops join the int8 ops to float ones: at the model's edges (`--io float32`)
/// and around layers kept in float (`--keep-float`).
///
///     input %0 "x": f32[1,4] range(-1.0, 1.0)
///     %2 "dense": f32[1,2] range(0.0, 2.0) = fully_connected(%0, %1) {activation=relu}
///   ->
///     %3 "x/quantized": i8[1,4] quant(scale=[0.007843138], zero_point=[-1], axis=0) = quantize(%0)
///     %2 "dense/int8": i8[1,2] quant(...) = fully_connected(%3, %4) {activation=relu}
///     %5 "dense": f32[1,2] = dequantize(%2)
let quantizeInt8 = Pass(name: "quantize-int8",
                        summary: "int8 weights and activations from calibrated ranges (--quantize int8)") { graph, context in
    var rewriter = try Int8Rewriter(graph: graph, keepFloat: context.options.keepFloat, io: context.options.io,
                                    floatHead: context.options.floatHead)
    graph = try rewriter.rewrite()
    let kept = graph.ops.filter { !$0.kind.isConversion && graph[$0.outputs[0]].dtype == .float32 }.map(\.origin)
    if !kept.isEmpty {
        context.note("quantize-int8: kept in float32: \(Set(kept).sorted().joined(separator: ", "))")
    }
}

/// A final sigmoid or softmax of a model with float outputs stays float: its int8 form has
/// only 256 output levels, which ties the confident negatives a ranking metric (AUROC)
/// needs apart, and computing it in float from the dequantized logits costs nothing.
private func isFloatHead(_ op: Op, _ graph: Graph) -> Bool {
    switch op.kind {
    case .softmax, .unary(.logistic): return op.outputs.allSatisfy(graph.outputs.contains)
    default: return false
    }
}

/// Asymmetric int8 parameters for [min, max], widened to contain 0 so that zero (padding,
/// ReLU's floor) is exact, as TFLite's quantizer does.
func activationParameters(_ range: ValueRange) -> Quantization {
    let low = min(range.min, 0)
    let high = max(range.max, 0)
    guard high > low else { return Quantization(scale: 1, zeroPoint: 0) }
    let scale = (high - low) / 255
    let zeroPoint = Int((-128 - low / scale).rounded()).clamped(to: -128...127)
    return Quantization(scale: scale, zeroPoint: zeroPoint)
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}

private struct Int8Rewriter {
    var graph: Graph
    let io: DType
    /// Indices (in the original op order) of ops that become int8.
    let integerOps: Set<Int>
    /// Parameters of every value an int8 op reads or writes.
    var parameters: [ValueID: Quantization] = [:]
    var quantized: [ValueID: ValueID] = [:]
    var dequantized: [ValueID: ValueID] = [:]
    var newOps: [Op] = []

    init(graph: Graph, keepFloat: Set<String>, io: DType, floatHead: Bool) throws {
        self.graph = graph
        self.io = io
        integerOps = Set(graph.ops.indices.filter { index in
            let op = graph.ops[index]
            return op.kind.facts.int8 != nil && !keepFloat.contains(op.origin) && !(floatHead && io == .float32 && isFloatHead(op, graph))
                && op.inputs.allSatisfy { graph[$0].dtype == .float32 || graph[$0].dtype == .int32 }
                && op.outputs.allSatisfy { graph[$0].dtype == .float32 }
        })
        parameters = try assignParameters()
    }

    /// Parameters for every activation an int8 op touches; data-moving ops share theirs.
    private func assignParameters() throws -> [ValueID: Quantization] {
        var parent: [ValueID: ValueID] = [:]
        func root(_ id: ValueID) -> ValueID {
            var id = id
            while let next = parent[id], next != id { id = next }
            return id
        }
        let producers = graph.producers()
        func fixedOutput(_ id: ValueID) -> Quantization? {
            producers[id].flatMap { graph.ops[$0].kind.facts.fixedOutputParameters }
        }
        // --io int8|uint8: the model's inputs and outputs are 8-bit even where only a float op
        // (CONV_3D, a --keep-float layer) reads or writes them; DEQUANTIZE and QUANTIZE join them.
        var touched: Set<ValueID> = io == .float32 ? [] : Set(graph.inputs + graph.outputs)
        var fixed: [ValueID: Quantization] = [:]
        for index in integerOps.sorted() {
            let op = graph.ops[index]
            let activations = op.inputs.filter { !graph.isConstant($0) }
            touched.formUnion(activations)
            touched.formUnion(op.outputs)
            if let parameters = op.kind.facts.fixedOutputParameters { fixed[op.outputs[0]] = parameters }
            guard op.kind.facts.int8 == .sharesInputParameters else { continue }
            // A fixed-scale value (a sigmoid's output) joining a concatenation keeps its own
            // parameters; the int8 concatenation rescales it.
            for input in activations where fixedOutput(input) == nil {
                parent[root(input)] = root(op.outputs[0])
            }
        }
        var classRange: [ValueID: ValueRange] = [:]
        var classFixed: [ValueID: Quantization] = [:]
        for id in touched {
            guard let range = graph[id].range else {
                throw H5ToLiteError("value '\(graph[id].name)' has no calibration range")
            }
            let key = root(id)
            let old = classRange[key] ?? range
            classRange[key] = ValueRange(min: min(old.min, range.min), max: max(old.max, range.max))
            if let parameters = fixed[id] { classFixed[key] = parameters }
        }
        var result: [ValueID: Quantization] = [:]
        for id in touched {
            result[id] = classFixed[root(id)] ?? activationParameters(classRange[root(id)]!)
        }
        return result
    }

    mutating func rewrite() throws -> Graph {
        if io != .float32 {
            for input in graph.inputs where parameters[input] != nil {
                try makeIntegerInput(input)
            }
        }
        for (index, op) in graph.ops.enumerated() {
            if integerOps.contains(index) {
                emitInteger(op)
            } else {
                var floatOp = op
                floatOp.inputs = op.inputs.map { floatVersion($0) }
                newOps.append(floatOp)
            }
        }
        graph.outputs = graph.outputs.map { output in
            io == .float32 ? floatVersion(output) : integerOutput(output)
        }
        graph.ops = newOps
        return graph
    }

    /// `--io int8|uint8`: the model takes the quantized input itself.
    private mutating func makeIntegerInput(_ input: ValueID) throws {
        let parameters = self.parameters[input]!
        if io == .int8 {
            graph[input].dtype = .int8
            graph[input].quantization = parameters
            quantized[input] = input
            return
        }
        // uint8 input: the same real values with zero points shifted by 128, then QUANTIZE to int8.
        let name = graph[input].name
        graph[input].dtype = .uint8
        graph[input].quantization = shiftedToUInt8(parameters)
        quantized[input] = converted(input, by: .quantize, to: Value(name: "\(name)/int8", dtype: .int8, shape: graph[input].shape,
                                                                     quantization: parameters), origin: name)
    }

    /// The same real values on uint8: zero points shifted by 128.
    private func shiftedToUInt8(_ parameters: Quantization) -> Quantization {
        Quantization(scales: parameters.scales, zeroPoints: parameters.zeroPoints.map { $0 + 128 })
    }

    /// `value`, added as what a QUANTIZE or DEQUANTIZE makes of `id`.
    private mutating func converted(_ id: ValueID, by kind: OpKind, to value: Value, origin: String) -> ValueID {
        let result = graph.addValue(value)
        newOps.append(Op(kind, inputs: [id], outputs: [result], origin: origin))
        return result
    }

    private mutating func emitInteger(_ op: Op) {
        var rewritten = op
        let inputScale = parameters[op.inputs[0]]?.scales[0] ?? 1
        rewritten.inputs = []
        for (position, id) in op.inputs.enumerated() {
            rewritten.inputs.append(graph.isConstant(id)
                ? quantizeConstant(id, position: position, of: op, newInputs: rewritten.inputs, inputScale: inputScale)
                : integerVersion(id))
        }
        if op.kind.facts.int8 == .sharesInputParameters, let shared = parameters[op.outputs[0]] {
            rewritten.inputs = rewritten.inputs.map { id in
                graph.isConstant(id) || graph[id].quantization == shared ? id : requantized(id, to: shared)
            }
        }
        for output in op.outputs {
            graph[output].dtype = .int8
            graph[output].quantization = parameters[output]
        }
        newOps.append(rewritten)
    }

    /// An int8 -> int8 QUANTIZE to `target` parameters: TFLite's int8 concatenation (and the
    /// other data-moving ops) need every input on the output's scale, and a fixed-scale
    /// input (a sigmoid's) cannot join the shared parameters.
    private mutating func requantized(_ id: ValueID, to target: Quantization) -> ValueID {
        converted(id, by: .quantize, to: Value(name: "\(graph[id].name)/requantized", dtype: .int8, shape: graph[id].shape,
                                               quantization: target), origin: graph[id].name)
    }

    /// The int8 form of an activation: itself once an int8 op made it, else a QUANTIZE of it.
    private mutating func integerVersion(_ id: ValueID) -> ValueID {
        if graph[id].dtype == .int8 { return id }
        if let existing = quantized[id] { return existing }
        let result = converted(id, by: .quantize, to: Value(name: "\(graph[id].name)/quantized", dtype: .int8,
                                                            shape: graph[id].shape, quantization: parameters[id]),
                               origin: graph[id].name)
        quantized[id] = result
        return result
    }

    /// The float form of an activation: itself if float, else a DEQUANTIZE of it. A model
    /// output keeps its name on the float value; a model input (8-bit with --io) keeps its own.
    private mutating func floatVersion(_ id: ValueID) -> ValueID {
        guard graph[id].dtype == .int8 || graph[id].dtype == .uint8 else { return id }
        if let existing = dequantized[id] { return existing }
        var name = graph[id].name
        if graph.inputs.contains(id) {
            name += "/dequantized"
        } else {
            graph[id].name = "\(name)/int8"
        }
        let result = converted(id, by: .dequantize, to: Value(name: name, dtype: .float32, shape: graph[id].shape), origin: name)
        dequantized[id] = result
        return result
    }

    /// `--io int8|uint8` outputs: int8 as computed, or requantized to uint8.
    private mutating func integerOutput(_ id: ValueID) -> ValueID {
        var int8 = id
        if graph[id].dtype != .int8 {
            // A float op (CONV_3D) computed it: its QUANTIZE's result takes the output's name.
            let name = graph[id].name
            int8 = integerVersion(id)
            graph[id].name = "\(name)/float"
            graph[int8].name = name
        }
        guard io == .uint8, let parameters = graph[int8].quantization else { return int8 }
        let name = graph[int8].name
        graph[int8].name = "\(name)/int8"
        return converted(int8, by: .quantize, to: Value(name: name, dtype: .uint8, shape: graph[int8].shape,
                                                        quantization: shiftedToUInt8(parameters)), origin: name)
    }

    /// Weights, biases and constant operands of an int8 op, in the form its kernel reads.
    /// `newInputs` are the op's operands before `position`, already in that form.
    private mutating func quantizeConstant(_ id: ValueID, position: Int, of op: Op, newInputs: [ValueID],
                                           inputScale: Float) -> ValueID {
        let value = graph[id]
        guard let floats = value.constant?.floats else { return id }
        if let weights = op.kind.facts.weights, position == weights.filter {
            let (data, quantization) = symmetricInt8(floats, shape: value.shape, axis: weights.channelAxis)
            return graph.addConstant(name: value.name, shape: value.shape, data: .int8(data), quantization: quantization)
        }
        if let weights = op.kind.facts.weights, position == weights.bias {
            return quantizedBias(id, floats, weights: newInputs[weights.filter], inputScale: inputScale)
        }
        if case .prelu = op.kind, position == 1 {
            // TensorFlow quantizes PReLU's alpha as it does weights: symmetric, one scale for the tensor.
            let (data, quantization) = symmetricInt8(floats, shape: value.shape, axis: nil)
            return graph.addConstant(name: value.name, shape: value.shape, data: .int8(data), quantization: quantization)
        }
        let quantization = activationParameters(ValueRange(min: floats.min() ?? 0, max: floats.max() ?? 0))
        let data = floats.map { Int8(clamping: Int(($0 / quantization.scales[0]).rounded()) + quantization.zeroPoints[0]) }
        return graph.addConstant(name: value.name, shape: value.shape, data: .int8(data), quantization: quantization)
    }

    /// An int32 bias on the scales input scale x weight scale, from the op's new `weights`.
    private mutating func quantizedBias(_ id: ValueID, _ floats: [Float], weights: ValueID, inputScale: Float) -> ValueID {
        guard let weightScales = graph[weights].quantization?.scales else { return id }
        let scales = floats.indices.map { inputScale * weightScales[$0] }
        let data = zip(floats, scales).map { Int32(clamping: Int64(($0 / $1).rounded())) }
        return graph.addConstant(name: graph[id].name, shape: graph[id].shape, data: .int32(data),
                                 quantization: Quantization(scales: scales, zeroPoints: Array(repeating: 0, count: scales.count)))
    }
}
