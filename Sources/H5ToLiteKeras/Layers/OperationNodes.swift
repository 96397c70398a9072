import H5ToLiteCore
import H5ToLiteIR

/// Keras 3 operation nodes and tf.keras 2 TFOpLambda / SlicingOpLambda nodes: what Python
/// arithmetic and `ops.*` / `tf.*` calls on Keras tensors become in a functional config. Only
/// the operations below convert, their arguments read from the config; a name outside these
/// lists is refused, and no serialized Python is ever run.
typealias OperationBuild = @Sendable (OperationCall) throws -> ValueID

/// Keras 3 operation classes (`module` "keras.src.ops.*"), by class name.
let kerasOperations: [String: OperationBuild] = [
    "Add": binary(.add), "Subtract": binary(.sub), "Multiply": binary(.mul),
    "Divide": binary(.div), "TrueDivide": binary(.div),
    "Maximum": binary(.maximum), "Minimum": binary(.minimum),
    "Negative": negative,
    "Relu": activation("relu"), "Relu6": activation("relu6"), "Sigmoid": activation("sigmoid"),
    "Tanh": activation("tanh"), "Silu": activation("silu"), "HardSigmoid": activation("hard_sigmoid"),
    "HardSilu": activation("hard_silu"),
    "Softmax": { call in try softmax(call, axis: call.layer.config.json["axis"]) },
    "Mean": { call in try mean(call, axes: call.layer.config.json["axis"], keepDims: call.layer.config.json["keepdims"]) },
    "Reshape": { call in try reshape(call, to: call.layer.config.json["newshape"]) },
    "Concatenate": { call in try concatenate(call, axis: call.layer.config.json["axis"] ?? .number(0)) },
    "GetItem": { call in try slice(call, key: call.argument(1)) },
]

/// tf.keras 2 TFOpLambda and SlicingOpLambda functions (config `function`), by name.
let tfOperations: [String: OperationBuild] = [
    "__operators__.add": binary(.add), "math.add": binary(.add), "math.subtract": binary(.sub),
    "math.multiply": binary(.mul), "math.truediv": binary(.div), "math.divide": binary(.div),
    "math.maximum": binary(.maximum), "math.minimum": binary(.minimum),
    "math.negative": negative,
    "nn.relu": activation("relu"), "nn.relu6": activation("relu6"), "math.sigmoid": activation("sigmoid"),
    "math.tanh": activation("tanh"), "nn.silu": activation("silu"),
    "nn.softmax": { call in try softmax(call, axis: call.keyword("axis")) },
    "math.reduce_mean": { call in try mean(call, axes: call.keyword("axis"), keepDims: call.keyword("keepdims")) },
    "reshape": { call in try reshape(call, to: call.keyword("shape")) },
    "concat": { call in try concatenate(call, axis: call.keyword("axis")) },
    "__operators__.getitem": { call in try slice(call, key: call.argument(1, "slice_spec")) },
]

/// The importer of an operation node, or a one-line refusal naming the operation.
func operationImporter(for layer: LayerNode) throws -> LayerImporter {
    let isTFOp = layer.className == "TFOpLambda" || layer.className == "SlicingOpLambda"
    let name = isTFOp ? layer.config.json["function"]?.string ?? "?" : layer.className
    guard let build = (isTFOp ? tfOperations : kerasOperations)[name] else {
        let known = (isTFOp ? tfOperations : kerasOperations).keys.sorted().joined(separator: ", ")
        throw H5ToLiteError(location: "layer '\(layer.name)'",
                              "operation '\(isTFOp ? "tf." : "")\(name)'\(layer.module.map { " (\($0))" } ?? "") is not one h5tolite converts; it converts \(known)")
    }
    return LayerImporter(inputs: 1...4096) { call in try build(OperationCall(layer: call, arguments: call.arguments)) }
}

/// One call of an operation: its arguments, resolved to graph values and constants.
struct OperationCall {
    let layer: LayerCall
    let arguments: CallArguments

    /// Positional argument `position`, else the first of `keywords` given (tf.keras 2 records
    /// every argument after the first by name).
    func argument(_ position: Int, _ keywords: String...) -> CallArgument? {
        if position < arguments.positional.count { return arguments.positional[position] }
        return keywords.lazy.compactMap { arguments.keyword[$0] }.first
    }

    /// A constant keyword argument as JSON (a list of constants as a JSON list).
    func keyword(_ name: String) -> JSON? {
        func json(_ argument: CallArgument) -> JSON? {
            switch argument {
            case .constant(let value): return value
            case .list(let items):
                let values = items.compactMap(json)
                return values.count == items.count ? .array(values) : nil
            case .tensor: return nil
            }
        }
        return arguments.keyword[name].flatMap(json)
    }

    /// A tensor argument, or a number (or list of numbers, along the last axis) as a constant.
    func operand(_ argument: CallArgument?, _ what: String) throws -> (value: ValueID, isTensor: Bool) {
        switch argument {
        case .tensor(let index)?:
            return (layer.inputs[index], true)
        case .constant(let json)?:
            if let number = json.number { return (layer.scalar(what, Float(number)), false) }
        case .list(let items)?:
            let numbers = items.compactMap { item -> Float? in
                if case .constant(let json) = item { return json.number.map(Float.init) }
                return nil
            }
            if numbers.count == items.count, !numbers.isEmpty {
                return (layer.constant(what, shape: [numbers.count], numbers), false)
            }
        case nil:
            throw H5ToLiteError("argument '\(what)' is missing")
        }
        throw H5ToLiteError("argument '\(what)' must be a tensor or numbers")
    }

    func tensor(_ argument: CallArgument?, _ what: String) throws -> ValueID {
        let (value, isTensor) = try operand(argument, what)
        guard isTensor else { throw H5ToLiteError("argument '\(what)' must be a tensor") }
        return value
    }

    var input: ValueID {
        get throws { try tensor(argument(0, "x", "x1", "inputs", "tensor", "logits"), "x") }
    }
}

private func binary(_ kind: BinaryKind) -> OperationBuild {
    { call in
        let x = try call.operand(call.argument(0, "x", "x1"), "x")
        let y = try call.operand(call.argument(1, "y", "x2"), "y")
        guard x.isTensor || y.isTensor else { throw H5ToLiteError("both operands are constants") }
        return try call.layer.emit(.binary(kind, .none), [x.value, y.value])
    }
}

/// -x as x * -1, exact in float.
private let negative: OperationBuild = { call in
    try call.layer.emit(.binary(.mul, .none), [try call.input, call.layer.scalar("minus_one", -1)])
}

private func activation(_ name: String) -> OperationBuild {
    { call in try applyActivation(call.layer, name, to: try call.input, final: true) }
}

private func axisValue(_ json: JSON?, default fallback: Int, rank: Int) throws -> Int {
    let raw = json == nil || json!.isNull ? fallback : json!.int ?? json!.array?.first?.int
    guard let axis = raw, axis >= -rank, axis < rank else { throw H5ToLiteError("bad axis \(json.map { "\($0)" } ?? "")") }
    return axis < 0 ? axis + rank : axis
}

private func softmax(_ call: OperationCall, axis: JSON?) throws -> ValueID {
    let input = try call.input
    let rank = call.layer.shape(input).count
    guard try axisValue(axis, default: -1, rank: rank) == rank - 1 else {
        throw H5ToLiteError("softmax over an axis other than the last is not supported")
    }
    return try call.layer.emit(.softmax(beta: 1), [input])
}

private func mean(_ call: OperationCall, axes json: JSON?, keepDims: JSON?) throws -> ValueID {
    let input = try call.input
    let rank = call.layer.shape(input).count
    guard let json, !json.isNull else { throw H5ToLiteError("a mean over every axis would mix the batch") }
    let items = json.array ?? [json]
    let axes = try Set(items.map { try axisValue($0, default: 0, rank: rank) }).sorted()
    guard !axes.contains(0) else { throw H5ToLiteError("a mean over the batch axis is not supported") }
    return try call.layer.emit(.mean(axes: axes, keepDims: keepDims?.bool ?? false), [input])
}

/// The target shape includes the batch axis, which must stay 1.
private func reshape(_ call: OperationCall, to json: JSON?) throws -> ValueID {
    let input = try call.input
    guard var target = json?.array?.compactMap(\.int), target.count == json?.array?.count, !target.isEmpty,
          target.allSatisfy({ $0 == -1 || $0 > 0 }), target.filter({ $0 == -1 }).count <= 1 else {
        throw H5ToLiteError("the new shape must be a list of sizes with at most one -1")
    }
    let total = elementCount(call.layer.shape(input))
    if let unknown = target.firstIndex(of: -1) {
        let known = target.filter { $0 != -1 }.reduce(1, *)
        guard total % known == 0 else { throw H5ToLiteError("cannot reshape \(call.layer.shape(input)) to \(target)") }
        target[unknown] = total / known
    }
    guard target[0] == 1, elementCount(target) == total else {
        throw H5ToLiteError("reshaping \(call.layer.shape(input)) to \(target) would change the batch axis")
    }
    return try call.layer.emit(.reshape(target), [input])
}

private func concatenate(_ call: OperationCall, axis json: JSON?) throws -> ValueID {
    guard case .list(let items)? = call.argument(0, "values", "xs") else {
        throw H5ToLiteError("concatenate needs a list of tensors")
    }
    let inputs = try items.map { try call.tensor($0, "values") }
    let rank = call.layer.shape(inputs[0]).count
    let axis = try axisValue(json, default: 0, rank: rank)
    guard axis != 0 else { throw H5ToLiteError("concatenating on the batch axis is not supported") }
    return try call.layer.emit(.concat(axis: axis, .none), inputs)
}

/// `x[key]` with Python's rules: slices (positive steps), integer indices (the axis goes) and
/// one ellipsis; the batch axis must be kept whole.
private func slice(_ call: OperationCall, key: CallArgument?) throws -> ValueID {
    let input = try call.input
    let shape = call.layer.shape(input)
    let items: [JSON]
    switch key {
    case .list(let list)?:
        items = try list.map { item in
            guard case .constant(let json) = item else { throw H5ToLiteError("a slice bound must be a constant") }
            return json
        }
    case .constant(let json)?: items = [json]
    default: throw H5ToLiteError("the slice is missing")
    }
    enum Item { case range(Int?, Int?, Int?), index(Int), ellipsis }
    func bound(_ json: JSON?) throws -> Int? {
        guard let json, !json.isNull else { return nil }
        guard let value = json.int else { throw H5ToLiteError("slice bounds must be integers") }
        return value
    }
    let parsed = try items.map { json -> Item in
        if let index = json.int { return .index(index) }
        let className = json["class_name"]?.string
        if className == "__ellipsis__" { return .ellipsis }
        let fields = className == "__slice__" ? json["config"] : json
        guard let fields, className == "__slice__" || fields["start"] != nil || fields["stop"] != nil else {
            throw H5ToLiteError("slice item \(json) is not supported (only integers, slices and one ellipsis)")
        }
        return .range(try bound(fields["start"]), try bound(fields["stop"]), try bound(fields["step"]))
    }
    let explicit = parsed.filter { if case .ellipsis = $0 { return false } else { return true } }
    guard explicit.count <= shape.count, parsed.count - explicit.count <= 1 else {
        throw H5ToLiteError("the slice has \(parsed.count) items for a rank-\(shape.count) tensor")
    }
    var perAxis: [Item] = []
    for item in parsed {
        if case .ellipsis = item {
            perAxis += Array(repeating: .range(nil, nil, nil), count: shape.count - explicit.count)
        } else {
            perAxis.append(item)
        }
    }
    perAxis += Array(repeating: .range(nil, nil, nil), count: shape.count - perAxis.count)
    var begin: [Int] = [], end: [Int] = [], strides: [Int] = [], kept: [Int] = []
    for (axis, item) in perAxis.enumerated() {
        let size = shape[axis]
        func clamp(_ value: Int) -> Int { min(max(value < 0 ? value + size : value, 0), size) }
        switch item {
        case .index(let index):
            let position = index < 0 ? index + size : index
            guard position >= 0, position < size else { throw H5ToLiteError("index \(index) is out of range for size \(size)") }
            begin.append(position); end.append(position + 1); strides.append(1)
        case .range(let start, let stop, let step):
            let step = step ?? 1
            guard step > 0 else { throw H5ToLiteError("slices with a step below 1 are not supported") }
            let first = start.map(clamp) ?? 0, last = stop.map(clamp) ?? size
            begin.append(first); end.append(max(first, last)); strides.append(step)
            kept.append((max(first, last) - first + step - 1) / step)
        case .ellipsis:
            break
        }
        if axis == 0, begin[0] != 0 || end[0] != size || strides[0] != 1 || kept.isEmpty {
            throw H5ToLiteError("slicing the batch axis is not supported")
        }
    }
    let sliced = try call.layer.emit(.stridedSlice(begin: begin, end: end, strides: strides), [input],
                                     suffix: kept.count < shape.count ? "slice" : nil)
    return kept.count < shape.count ? try call.layer.emit(.reshape(kept), [sliced]) : sliced
}
