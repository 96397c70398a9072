import H5ToLiteCore
import H5ToLiteIR

let mergingLayers: [String: LayerImporter] = [
    "Add": chain(.add),
    "Subtract": LayerImporter(inputs: 2...2) { call in
        try call.expectInputs(2)
        return try call.emit(.binary(.sub, .none), call.inputs)
    },
    "Multiply": chain(.mul),
    "Maximum": chain(.maximum),
    "Minimum": chain(.minimum),
    "Average": LayerImporter(inputs: 2...1024) { call in
        let sum = try reduce(call, .add, suffix: "sum")
        return try call.emit(.binary(.mul, .none), [sum, call.scalar("reciprocal", 1 / Float(call.inputs.count))])
    },
    "Concatenate": LayerImporter(inputs: 1...4096) { call in
        let rank = call.shape(call.input).count
        let axis = try call.config.int("axis", default: -1)
        guard axis != 0, axis >= -rank, axis < rank else { throw H5ToLiteError("cannot concatenate on axis \(axis)") }
        return try call.emit(.concat(axis: axis < 0 ? axis + rank : axis, .none), call.inputs)
    },
]

/// An n-input merge as a chain of binary ops, the last one named after the layer.
private func chain(_ kind: BinaryKind) -> LayerImporter {
    LayerImporter(inputs: 2...1024) { call in try reduce(call, kind, suffix: nil) }
}

private func reduce(_ call: LayerCall, _ kind: BinaryKind, suffix: String?) throws -> ValueID {
    guard call.inputs.count >= 2 else { throw H5ToLiteError("needs at least two inputs") }
    var value = call.inputs[0]
    for (index, next) in call.inputs.dropFirst().enumerated() {
        let last = index == call.inputs.count - 2
        value = try call.emit(.binary(kind, .none), [value, next], suffix: last ? suffix : "\(kind.rawValue)_\(index)")
    }
    return value
}
