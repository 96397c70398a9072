/// A tensor in the graph: an activation produced by an op, a graph input, or a constant.
public struct Value: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var constant: ConstantData?
    /// Set on int8/int32 tensors of a quantized graph.
    public var quantization: Quantization?
    /// Calibration statistics, recorded before quantization decides the parameters.
    public var range: ValueRange?

    public init(name: String, dtype: DType, shape: [Int], constant: ConstantData? = nil,
                quantization: Quantization? = nil, range: ValueRange? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.constant = constant
        self.quantization = quantization
        self.range = range
    }
}

/// One model as a dataflow graph. Ops are kept in topological order; values are
/// addressed by their index in `values`. Activations carry a batch size of 1;
/// the batch axis is dynamic in the written file.
public struct Graph: Sendable, Equatable {
    public var name: String
    public var values: [Value] = []
    public var ops: [Op] = []
    public var inputs: [ValueID] = []
    public var outputs: [ValueID] = []

    public init(name: String) {
        self.name = name
    }

    public subscript(id: ValueID) -> Value {
        get { values[id] }
        set { values[id] = newValue }
    }

    public mutating func addValue(_ value: Value) -> ValueID {
        values.append(value)
        return values.count - 1
    }

    public mutating func addInput(name: String, shape: [Int], dtype: DType = .float32) -> ValueID {
        let id = addValue(Value(name: name, dtype: dtype, shape: shape))
        inputs.append(id)
        return id
    }

    public mutating func addConstant(name: String, shape: [Int], data: ConstantData,
                                     quantization: Quantization? = nil) -> ValueID {
        precondition(elementCount(shape) == data.count, "constant \(name): shape does not match data")
        return addValue(Value(name: name, dtype: data.dtype, shape: shape, constant: data, quantization: quantization))
    }

    /// Appends an op whose output shape is inferred from its inputs.
    /// `dtype` defaults to the type the op computes in: its data input's type (bool for greater).
    @discardableResult
    public mutating func addOp(_ kind: OpKind, inputs: [ValueID], name: String, origin: String,
                               dtype: DType? = nil, quantization: Quantization? = nil) throws -> ValueID {
        let shape = try inferShape(kind, inputs: inputs.map { values[$0].shape })
        let inferred = kind == .greater ? DType.bool : values[inputs[kind == .select ? 1 : 0]].dtype
        let output = addValue(Value(name: name, dtype: dtype ?? inferred, shape: shape, quantization: quantization))
        ops.append(Op(kind, inputs: inputs, outputs: [output], origin: origin))
        return output
    }

    public func isConstant(_ id: ValueID) -> Bool {
        values[id].constant != nil
    }

    /// Index of the op producing each value, nil for inputs and constants.
    public func producers() -> [Int?] {
        var result = [Int?](repeating: nil, count: values.count)
        for (index, op) in ops.enumerated() {
            for output in op.outputs { result[output] = index }
        }
        return result
    }

    /// Indices of the ops reading each value, once per operand that reads it.
    public func readers() -> [[Int]] {
        var result = [[Int]](repeating: [], count: values.count)
        for (index, op) in ops.enumerated() {
            for input in op.inputs { result[input].append(index) }
        }
        return result
    }

    /// How many ops (and graph outputs) read each value.
    public func useCounts() -> [Int] {
        var counts = readers().map(\.count)
        for output in outputs { counts[output] += 1 }
        return counts
    }

    /// Number of parameters held in constants.
    public var parameterCount: Int {
        values.reduce(0) { $0 + ($1.constant?.count ?? 0) }
    }

    /// The shape of one sample of each input, in the model's input order: its shape without
    /// the batch axis.
    public var sampleShapes: [[Int]] {
        inputs.map { Array(values[$0].shape.dropFirst()) }
    }

    /// Float parameters that are exactly zero: what pruning left.
    public var zeroParameterCount: Int {
        values.reduce(0) { total, value in total + (value.constant?.floats?.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } ?? 0) }
    }
}
