import H5ToLiteCore
/// Reads the text form written by `printGraph(_:fullConstants: true)`, so pass tests can
/// be written as IR text: input IR -> one pass -> expected IR. Value numbers are kept as
/// written; numbers the text skips become unused placeholder values. Lines starting with
/// `#` are comments.
public func parseGraph(_ text: String) throws -> Graph {
    var graph = Graph(name: "")
    var defined: [ValueID: Value] = [:]
    var ops: [Op] = []
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = rawLine.trimmingCharacters(in: " ")
        guard !line.isEmpty, line != "}", !line.hasPrefix("#") else { continue }
        var scanner = LineScanner(line: line, number: index + 1)
        do {
            try parseLine(&scanner, graph: &graph, defined: &defined, ops: &ops)
        } catch let error as H5ToLiteError {
            throw error.at("line \(index + 1)")
        }
    }
    let count = (defined.keys.max() ?? -1) + 1
    graph.values = (0..<count).map { defined[$0] ?? Value(name: "", dtype: .float32, shape: []) }
    graph.ops = ops
    return graph
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> Substring {
        var result = self
        while result.first == set { result.removeFirst() }
        while result.last == set { result.removeLast() }
        return result
    }
}

private func parseLine(_ s: inout LineScanner, graph: inout Graph, defined: inout [ValueID: Value], ops: inout [Op]) throws {
    if s.take("graph ") {
        graph.name = try s.quoted()
    } else if s.take("input ") {
        let id = try s.reference()
        let name = try s.quoted()
        try s.expect(": ")
        let (dtype, shape, quantization, range) = try s.type()
        defined[id] = Value(name: name, dtype: dtype, shape: shape, quantization: quantization, range: range)
        graph.inputs.append(id)
    } else if s.take("const ") {
        let id = try s.reference()
        let name = try s.quoted()
        try s.expect(": ")
        let (dtype, shape, quantization, range) = try s.type()
        try s.expect(" ")
        let data = try constantData(dtype, try s.tokenList())
        guard data.count == elementCount(shape) else { throw H5ToLiteError("constant %\(id) has \(data.count) values for shape \(shape)") }
        defined[id] = Value(name: name, dtype: dtype, shape: shape, constant: data, quantization: quantization, range: range)
    } else if s.take("output") {
        s.skipSpaces()
        while !s.atEnd {
            graph.outputs.append(try s.reference())
            _ = s.take(", ")
        }
    } else {
        ops.append(try parseOp(&s, defined: &defined))
    }
}

private func parseOp(_ s: inout LineScanner, defined: inout [ValueID: Value]) throws -> Op {
    var outputs: [ValueID] = []
    repeat {
        let id = try s.reference()
        let name = try s.quoted()
        try s.expect(": ")
        let (dtype, shape, quantization, range) = try s.type()
        defined[id] = Value(name: name, dtype: dtype, shape: shape, quantization: quantization, range: range)
        outputs.append(id)
    } while s.take(", ")
    try s.expect(" = ")
    let opName = s.word()
    try s.expect("(")
    var inputs: [ValueID] = []
    while !s.take(")") {
        inputs.append(try s.reference())
        _ = s.take(", ")
    }
    var attributes: [String: String] = [:]
    if s.take(" {") {
        let body = s.until("}")
        for pair in body.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw H5ToLiteError("bad attribute '\(pair)'") }
            attributes[String(parts[0])] = String(parts[1])
        }
    }
    let kind = try makeKind(opName, Attributes(values: attributes))
    return Op(kind, inputs: inputs, outputs: outputs, origin: defined[outputs[0]]!.name)
}

private func constantData(_ dtype: DType, _ tokens: [String]) throws -> ConstantData {
    func numbers<T>(_ convert: (String) -> T?) throws -> [T] {
        try tokens.map { token in
            guard let value = convert(token) else { throw H5ToLiteError("'\(token)' is not a \(dtype.shortName) value") }
            return value
        }
    }
    switch dtype {
    case .int32: return .int32(try numbers { Int32($0) })
    case .int8: return .int8(try numbers { Int8($0) })
    case .float16: return .float16(try numbers { Float16($0)?.bitPattern })
    default: return .float32(try numbers { Float($0) })
    }
}

private struct Attributes {
    let values: [String: String]

    func text(_ key: String) throws -> String {
        guard let value = values[key] else { throw H5ToLiteError("missing attribute '\(key)'") }
        return value
    }

    func int(_ key: String) throws -> Int {
        guard let value = Int(try text(key)) else { throw H5ToLiteError("attribute '\(key)' must be an integer") }
        return value
    }

    func float(_ key: String) throws -> Float {
        guard let value = Float(try text(key)) else { throw H5ToLiteError("attribute '\(key)' must be a number") }
        return value
    }

    func bool(_ key: String) throws -> Bool {
        try text(key) == "true"
    }

    /// `2x2`, or with `axes` 3, `1x2x2`.
    func dims(_ key: String, axes: Int = 2) throws -> [Int] {
        let parts = try text(key).split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == axes, parts.allSatisfy({ $0 != nil }) else {
            throw H5ToLiteError("attribute '\(key)' must look like \(axes == 3 ? "1x2x2" : "2x2")")
        }
        return parts.map { $0! }
    }

    func list(_ key: String) throws -> [Int] {
        var scanner = LineScanner(line: Substring(try text(key)), number: 0)
        return try scanner.numberList()
    }

    func nestedList(_ key: String) throws -> [[Int]] {
        let body = try text(key).dropFirst().dropLast()
        return try body.split(separator: "]").map { part in
            var scanner = LineScanner(line: part.drop { $0 == "," } + "]", number: 0)
            return try scanner.numberList()
        }
    }

    var activation: FusedActivation {
        get throws {
            guard let name = values["activation"] else { return .none }
            guard let value = FusedActivation(rawValue: name) else { throw H5ToLiteError("unknown activation '\(name)'") }
            return value
        }
    }

    func window(withSize: Bool, axes: Int = 2) throws -> Window {
        guard let padding = Padding(rawValue: try text("padding")) else { throw H5ToLiteError("unknown padding") }
        return Window(size: withSize ? try dims("window") : [1, 1], stride: try dims("stride", axes: axes),
                      dilation: try dims("dilation", axes: axes), padding: padding)
    }
}

private func makeKind(_ name: String, _ a: Attributes) throws -> OpKind {
    if let kind = BinaryKind(rawValue: name) { return .binary(kind, try a.activation) }
    if let kind = UnaryKind(rawValue: name) { return .unary(kind) }
    switch name {
    case "conv2d": return .conv2d(try a.window(withSize: false), try a.activation)
    case "depthwise_conv2d": return .depthwiseConv2d(try a.window(withSize: false), multiplier: try a.int("multiplier"), try a.activation)
    case "fully_connected": return .fullyConnected(try a.activation)
    case "max_pool": return .maxPool(try a.window(withSize: true), try a.activation)
    case "average_pool": return .averagePool(try a.window(withSize: true), try a.activation)
    case "mean": return .mean(axes: try a.list("axes"), keepDims: try a.bool("keep_dims"))
    case "reduce_max": return .reduceMax(axes: try a.list("axes"), keepDims: try a.bool("keep_dims"))
    case "concat": return .concat(axis: try a.int("axis"), try a.activation)
    case "pad": return .pad(try a.nestedList("paddings"))
    case "reshape": return .reshape(try a.list("shape"))
    case "transpose": return .transpose(try a.list("perm"))
    case "strided_slice": return .stridedSlice(begin: try a.list("begin"), end: try a.list("end"), strides: try a.list("strides"))
    case "softmax": return .softmax(beta: try a.float("beta"))
    case "batch_norm": return .batchNormalization(epsilon: try a.float("epsilon"))
    case "leaky_relu": return .leakyRelu(alpha: try a.float("alpha"))
    case "prelu": return .prelu
    case "greater": return .greater
    case "select": return .select
    case "batch_matmul": return .batchMatMul(adjointX: try a.bool("adj_x"), adjointY: try a.bool("adj_y"))
    case "identity": return .identity
    case "quantize": return .quantize
    case "dequantize": return .dequantize
    case "resize_nearest", "resize_bilinear":
        return .resize(name == "resize_nearest" ? .nearest : .bilinear, size: try a.list("size"),
                       alignCorners: try a.bool("align_corners"), halfPixelCenters: try a.bool("half_pixel_centers"))
    case "conv3d": return .conv3d(try a.window(withSize: false, axes: 3), try a.activation)
    case "transpose_conv2d":
        return .transposeConv2d(try a.window(withSize: false), outputSize: try a.list("output_size"), try a.activation)
    default: throw H5ToLiteError("unknown op '\(name)'")
    }
}

/// A cursor over one line of IR text.
private struct LineScanner {
    var rest: Substring
    let number: Int

    init(line: Substring, number: Int) {
        rest = line
        self.number = number
    }

    var atEnd: Bool { rest.isEmpty }

    mutating func take(_ literal: String) -> Bool {
        guard rest.hasPrefix(literal) else { return false }
        rest = rest.dropFirst(literal.count)
        return true
    }

    mutating func expect(_ literal: String) throws {
        guard take(literal) else { throw H5ToLiteError("expected '\(literal)' at '\(rest.prefix(20))'") }
    }

    mutating func skipSpaces() {
        rest = rest.drop { $0 == " " }
    }

    mutating func word() -> String {
        let word = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        rest = rest.dropFirst(word.count)
        return String(word)
    }

    mutating func until(_ end: Character) -> Substring {
        let body = rest.prefix { $0 != end }
        rest = rest.dropFirst(body.count + 1)
        return body
    }

    mutating func reference() throws -> ValueID {
        try expect("%")
        guard let id = Int(word()) else { throw H5ToLiteError("expected a value number") }
        skipSpaces()
        return id
    }

    mutating func quoted() throws -> String {
        try expect("\"")
        var result = ""
        while let char = rest.first, char != "\"" {
            rest.removeFirst()
            if char == "\\", let escaped = rest.first {
                rest.removeFirst()
                result.append(escaped)
            } else {
                result.append(char)
            }
        }
        try expect("\"")
        return result
    }

    /// `i8[1,4,4,2]`, optionally followed by ` quant(...)` and ` range(min, max)`.
    mutating func type() throws -> (DType, [Int], Quantization?, ValueRange?) {
        let short = word()
        guard let dtype = [DType.float32, .float16, .int32, .int8, .uint8, .int64, .bool].first(where: { $0.shortName == short }) else {
            throw H5ToLiteError("unknown type '\(short)'")
        }
        let shape = try numberList()
        var quantization: Quantization?
        if take(" quant(scale=") {
            let scales = try tokenList().map { token in
                guard let value = Float(token) else { throw H5ToLiteError("bad scale '\(token)'") }
                return value
            }
            try expect(", zero_point=")
            let zeroPoints = try numberList()
            try expect(", axis=")
            guard let axis = Int(until(")")) else { throw H5ToLiteError("bad quantization axis") }
            quantization = Quantization(scales: scales, zeroPoints: zeroPoints, axis: axis)
        }
        var range: ValueRange?
        if take(" range(") {
            let bounds = until(")").split(separator: ",").compactMap { Float($0.trimmingCharacters(in: " ")) }
            guard bounds.count == 2 else { throw H5ToLiteError("bad range") }
            range = ValueRange(min: bounds[0], max: bounds[1])
        }
        return (dtype, shape, quantization, range)
    }

    /// The items of `[a, b, c]`; an empty list is `[]`.
    mutating func tokenList() throws -> [String] {
        try expect("[")
        return until("]").split(separator: ",").map { String($0.trimmingCharacters(in: " ")) }
    }

    mutating func numberList() throws -> [Int] {
        try tokenList().map { token in
            guard let value = Int(token) else { throw H5ToLiteError("'\(token)' is not an integer") }
            return value
        }
    }
}
