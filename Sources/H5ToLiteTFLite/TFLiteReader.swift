import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Loads a .tflite file (ours or one TensorFlow's converter wrote) into the IR.
/// Subgraph 0 becomes the graph, with the batch size the file's shapes carry (1
/// for TensorFlow's files, whose `shape_signature` marks the batch as dynamic).
public func readTFLite(path: String) throws -> Graph {
    guard FileManager.default.fileExists(atPath: path) else { throw H5ToLiteError(file: path, "no such file") }
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw H5ToLiteError(file: path, "cannot read the file: \(error.localizedDescription)")
    }
    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    do {
        return try readTFLite(bytes: [UInt8](data), name: name)
    } catch let error as H5ToLiteError {
        throw error.inFile(path)
    }
}

public func readTFLite(bytes: [UInt8], name: String = "model") throws -> Graph {
    var reader = try TFLiteGraphReader(FlatBuffer(bytes: bytes), name: name)
    return try reader.read()
}

/// Largest element count accepted for one tensor, so a corrupt shape cannot make
/// the interpreter allocate without bound.
let maximumElementCount = 1 << 31

struct TensorEntry {
    let index: Int
    let name: String
    let type: TensorType
    let shape: [Int]
    /// The shape with -1 where the size is only known at run time; TensorFlow
    /// then writes 1 in `shape`.
    let signature: [Int]?
    let buffer: Int
    let quantization: Quantization?
    /// How the buffer stores a sparse constant; nil for dense tensors.
    let sparsity: SparseLayout?

    /// Whether `inferred` is a shape this tensor can take.
    func accepts(_ inferred: [Int]) -> Bool {
        guard inferred.count == shape.count else { return false }
        return inferred.indices.allSatisfy { inferred[$0] == shape[$0] || signature?[$0] == -1 }
    }
}

struct OperatorEntry {
    let index: Int
    let code: BuiltinOperator
    let inputs: [Int]
    let outputs: [Int]
    let optionsType: UInt8
    let optionsTable: FlatTable?

    var label: String { "operator \(index) (\(code))" }

    /// The operator's options table, checked to be of the type its code uses;
    /// nil when the file leaves them out (every field then takes its default).
    func options(_ expected: BuiltinOptions) throws -> FlatTable? {
        guard optionsType != BuiltinOptions.NONE.rawValue else { return nil }
        guard optionsType == expected.rawValue else {
            let found = BuiltinOptions(rawValue: optionsType).map { "\($0)" } ?? "\(optionsType)"
            throw H5ToLiteError("options of type \(found), expected \(expected)")
        }
        return optionsTable
    }

    /// Input `position`, or nil when it is left out (missing or -1).
    func optionalInput(_ position: Int) -> Int? {
        position < inputs.count && inputs[position] >= 0 ? inputs[position] : nil
    }

    func input(_ position: Int) throws -> Int {
        guard let tensor = optionalInput(position) else {
            throw H5ToLiteError("input \(position) is missing")
        }
        return tensor
    }

    func expectInputs(_ range: ClosedRange<Int>) throws {
        guard range.contains(inputs.count) else {
            throw H5ToLiteError("has \(inputs.count) inputs, expected \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)")")
        }
    }

    var output: Int {
        get throws {
            guard outputs.count == 1 else { throw H5ToLiteError("has \(outputs.count) outputs, expected 1") }
            return outputs[0]
        }
    }
}

/// Reads one model: the file's tables first, then its operators in order, each
/// turned into IR ops (or, for integer shape arithmetic, folded on the spot).
struct TFLiteGraphReader {
    let file: FlatBuffer
    let buffers: FlatVector
    var tensors: [TensorEntry] = []
    var operators: [OperatorEntry] = []
    var graph: Graph
    /// The IR value holding each tensor, once it is defined.
    var values: [Int: ValueID] = [:]
    /// Integer tensors known while reading: constants and folded shape arithmetic.
    var integers: [Int: IntTensor] = [:]
    /// The sparse constant each DENSIFY output restores.
    var densifiedFrom: [Int: Int] = [:]
    /// Operators absorbed into an earlier operator's pattern.
    var absorbed: Set<Int> = []
    var inputTensors: [Int] = []
    var outputTensors: [Int] = []
    let subgraph: FlatTable

    init(_ file: FlatBuffer, name: String) throws {
        guard file.bytes.count >= 8 else {
            throw H5ToLiteError("the file is \(file.bytes.count) bytes long, too short for a TFLite model")
        }
        guard file.fileIdentifier == "TFL3" else {
            throw H5ToLiteError("not a TFLite model: the file identifier is not \"TFL3\"")
        }
        self.file = file
        let model = try file.rootTable()
        guard let subgraphs = try model.vector(Slot.Model.subgraphs, elementSize: 4), subgraphs.count > 0 else {
            throw H5ToLiteError("the model has no subgraph")
        }
        subgraph = try subgraphs.table(0)
        buffers = try model.vector(Slot.Model.buffers, elementSize: 4) ?? FlatVector(empty: file)
        graph = Graph(name: name)
        let codes = try readOperatorCodes(model)
        tensors = try readTensors()
        operators = try readOperators(codes: codes)
        inputTensors = try tensorList(Slot.SubGraph.inputs, of: subgraph)
        outputTensors = try tensorList(Slot.SubGraph.outputs, of: subgraph)
    }

    mutating func read() throws -> Graph {
        for tensor in inputTensors {
            try addInput(tensor)
        }
        // DENSIFY only restores constants: resolved first, so patterns that look ahead (a
        // dilated convolution's SPACE_TO_BATCH_ND) find the weights a later DENSIFY restores.
        for op in operators where op.code == .DENSIFY {
            do {
                try readDensify(op)
            } catch let error as H5ToLiteError {
                throw error.at(op.label)
            }
            absorbed.insert(op.index)
        }
        for op in operators where !absorbed.contains(op.index) {
            do {
                try readOperator(op)
            } catch let error as H5ToLiteError {
                throw error.at(op.label)
            }
        }
        for tensor in outputTensors {
            graph.outputs.append(try value(tensor))
        }
        try verify(graph)
        return graph
    }

    // MARK: the file's tables

    private func readOperatorCodes(_ model: FlatTable) throws -> [Result<BuiltinOperator, H5ToLiteError>] {
        guard let vector = try model.vector(Slot.Model.operator_codes, elementSize: 4) else { return [] }
        return try (0..<vector.count).map { index in
            let table = try vector.table(index)
            // Codes above 127 live in `builtin_code`; older files only fill the deprecated int8 field.
            let deprecated = Int32(try table.scalar(Slot.OperatorCode.deprecated_builtin_code, default: Int8(0)))
            let code = max(deprecated, try table.scalar(Slot.OperatorCode.builtin_code, default: Int32(0)))
            if code == BuiltinOperator.CUSTOM.rawValue {
                let name = try table.string(Slot.OperatorCode.custom_code) ?? ""
                return .failure(H5ToLiteError("custom op '\(name)' is not supported"))
            }
            guard let known = BuiltinOperator(rawValue: code) else {
                return .failure(H5ToLiteError("unknown builtin operator code \(code)"))
            }
            return .success(known)
        }
    }

    private func readTensors() throws -> [TensorEntry] {
        guard let vector = try subgraph.vector(Slot.SubGraph.tensors, elementSize: 4) else { return [] }
        return try (0..<vector.count).map { index in
            let table = try vector.table(index)
            let name = try table.string(Slot.Tensor.name) ?? "tensor\(index)"
            let rawType = try table.scalar(Slot.Tensor.type, default: Int8(0))
            guard let type = TensorType(rawValue: rawType) else {
                throw H5ToLiteError("tensor \(index) ('\(name)') has an unknown type \(rawType)")
            }
            let shape = try table.vector(Slot.Tensor.shape, elementSize: 4)?.scalars(Int32.self).map(Int.init) ?? []
            try checkShape(shape, tensor: index, name: name)
            let signature = try table.vector(Slot.Tensor.shape_signature, elementSize: 4)?.scalars(Int32.self).map(Int.init)
            guard signature == nil || signature?.count == shape.count else {
                throw H5ToLiteError("tensor \(index) ('\(name)') has shape \(shape) but signature \(signature!)")
            }
            let buffer = Int(try table.scalar(Slot.Tensor.buffer, default: UInt32(0)))
            guard buffer < max(buffers.count, 1) else {
                throw H5ToLiteError("tensor \(index) ('\(name)') refers to buffer \(buffer), but the model has \(buffers.count) buffers")
            }
            let quantization = try readQuantization(table, index: index, name: name, type: type, shape: shape)
            let sparsity: SparseLayout?
            do {
                sparsity = try Self.readSparsity(table, shape: shape)
            } catch let error as H5ToLiteError {
                throw error.at("tensor \(index) ('\(name)')")
            }
            return TensorEntry(index: index, name: name, type: type, shape: shape, signature: signature, buffer: buffer,
                               quantization: quantization, sparsity: sparsity)
        }
    }

    private func checkShape(_ shape: [Int], tensor: Int, name: String) throws {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else {
                throw H5ToLiteError("tensor \(tensor) ('\(name)') has a negative dimension in shape \(shape)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumElementCount else {
                throw H5ToLiteError("tensor \(tensor) ('\(name)') has shape \(shape), too large")
            }
            count = product
        }
    }

    private func readOperators(codes: [Result<BuiltinOperator, H5ToLiteError>]) throws -> [OperatorEntry] {
        guard let vector = try subgraph.vector(Slot.SubGraph.operators, elementSize: 4) else { return [] }
        return try (0..<vector.count).map { index in
            do {
                return try operatorEntry(try vector.table(index), index: index, codes: codes)
            } catch let error as H5ToLiteError {
                throw error.at("operator \(index)")
            }
        }
    }

    private func operatorEntry(_ table: FlatTable, index: Int, codes: [Result<BuiltinOperator, H5ToLiteError>]) throws -> OperatorEntry {
        let opcode = Int(try table.scalar(Slot.Operator.opcode_index, default: UInt32(0)))
        guard opcode < codes.count else {
            throw H5ToLiteError("opcode index \(opcode) is out of range (\(codes.count) operator codes)")
        }
        let optionsType = try table.unionType(Slot.Operator.builtin_options_type)
        return OperatorEntry(
            index: index, code: try codes[opcode].get(),
            inputs: try tensorList(Slot.Operator.inputs, of: table, optional: true),
            outputs: try tensorList(Slot.Operator.outputs, of: table),
            optionsType: optionsType,
            optionsTable: optionsType == 0 ? nil : try table.table(Slot.Operator.builtin_options))
    }

    /// A vector of tensor indices, each checked against the tensor count (-1 marks
    /// a left-out optional operand where `optional` allows it).
    private func tensorList(_ slot: Int, of table: FlatTable, optional: Bool = false) throws -> [Int] {
        let indices = try table.vector(slot, elementSize: 4)?.scalars(Int32.self).map(Int.init) ?? []
        for index in indices where !(index >= 0 && index < tensors.count) && !(optional && index == -1) {
            throw H5ToLiteError("tensor index \(index) is out of range (\(tensors.count) tensors)")
        }
        return indices
    }

    /// The data bytes of a tensor's buffer; empty when the tensor is not a constant.
    func bufferBytes(_ tensor: TensorEntry) throws -> ArraySlice<UInt8> {
        guard tensor.buffer > 0 else { return [] }
        let table = try buffers.table(tensor.buffer)
        if let data = try table.vector(Slot.Buffer.data, elementSize: 1), data.count > 0 {
            return data.bytes
        }
        // Files over 2 GB keep buffers after the flatbuffer, addressed from the file start.
        let offset = try table.scalar(Slot.Buffer.offset, default: UInt64(0))
        let size = try table.scalar(Slot.Buffer.size, default: UInt64(0))
        guard offset > 1 else { return [] }
        guard offset <= UInt64(file.bytes.count), size <= UInt64(file.bytes.count) - offset else {
            throw H5ToLiteError("buffer \(tensor.buffer) of tensor '\(tensor.name)' lies outside the file")
        }
        return file.bytes[Int(offset)..<Int(offset + size)]
    }

    /// The constant data of a tensor, checked against its shape (dense, for a sparse
    /// constant); nil for activations.
    func constantBytes(_ tensor: TensorEntry) throws -> ArraySlice<UInt8>? {
        let bytes = try bufferBytes(tensor)
        if let layout = tensor.sparsity, tensor.buffer > 0 {
            return ArraySlice(try densified(tensor, layout: layout, stored: bytes))
        }
        guard !bytes.isEmpty else { return nil }
        guard let size = tensor.type.byteSize else {
            throw H5ToLiteError("tensor '\(tensor.name)' holds \(tensor.type) data, which is not supported")
        }
        let needed = elementCount(tensor.shape) * size
        guard bytes.count == needed else {
            throw H5ToLiteError("tensor '\(tensor.name)': buffer \(tensor.buffer) holds \(bytes.count) bytes, its shape \(tensor.shape) of \(tensor.type) needs \(needed)")
        }
        return bytes
    }

    // MARK: values

    private mutating func addInput(_ index: Int) throws {
        let tensor = tensors[index]
        guard try constantBytes(tensor) == nil, values[index] == nil else {
            throw H5ToLiteError("graph input '\(tensor.name)' is a constant or listed twice")
        }
        guard [.FLOAT32, .INT8, .UINT8].contains(tensor.type) else {
            throw H5ToLiteError("graph input '\(tensor.name)' has type \(tensor.type); only float32, int8 and uint8 inputs are read")
        }
        let (dtype, quantization) = try activationType(tensor)
        // The graph is built for one sample; the interpreter runs batches sample by sample.
        guard tensor.shape.first == 1 else {
            throw H5ToLiteError("graph input '\(tensor.name)' has shape \(tensor.shape); its first axis must be a batch of 1")
        }
        let id = graph.addInput(name: tensor.name, shape: tensor.shape, dtype: dtype)
        graph[id].quantization = quantization
        values[index] = id
    }

    /// The IR value of a tensor an operator reads: a value defined earlier, or a
    /// constant (float32, or int8 and int32 with their quantization) added on first use.
    mutating func value(_ index: Int) throws -> ValueID {
        if let id = values[index] { return id }
        if let source = densifiedFrom[index] {
            values[index] = try value(source)
            return values[index]!
        }
        let tensor = tensors[index]
        guard let bytes = try constantBytes(tensor) else {
            throw H5ToLiteError("tensor \(index) ('\(tensor.name)') is read before any operator writes it")
        }
        let id = graph.addConstant(name: tensor.name, shape: tensor.shape, data: try constantData(tensor, bytes),
                                   quantization: tensor.quantization)
        values[index] = id
        return id
    }

    /// Appends an IR op computing `output`, with the output's type and
    /// quantization, and checks that the shape the IR infers is the one the file declares.
    @discardableResult
    mutating func emit(_ kind: OpKind, _ inputs: [ValueID], output: Int) throws -> ValueID {
        let tensor = tensors[output]
        let (dtype, quantization) = try activationType(tensor)
        guard (kind == .greater) == (dtype == .bool) else {
            throw H5ToLiteError("output '\(tensor.name)' of \(kind.name) has type \(tensor.type)")
        }
        guard values[output] == nil else {
            throw H5ToLiteError("tensor \(output) ('\(tensor.name)') is written twice")
        }
        let id = try graph.addOp(kind, inputs: inputs, name: tensor.name, origin: origin(tensor), dtype: dtype,
                                 quantization: quantization)
        guard tensor.accepts(graph[id].shape) else {
            throw H5ToLiteError("output '\(tensor.name)' has shape \(tensor.shape) in the file, but \(kind.name) gives \(graph[id].shape)")
        }
        values[output] = id
        return id
    }

    /// Appends an intermediate IR op that has no tensor in the file. Its type is
    /// its first input's, and so is its quantization unless `quantization` is given.
    mutating func emitStep(_ kind: OpKind, _ inputs: [ValueID], output: Int, suffix: String,
                           quantization: Quantization? = nil) throws -> ValueID {
        let tensor = tensors[output]
        return try graph.addOp(kind, inputs: inputs, name: "\(tensor.name)/\(suffix)", origin: origin(tensor),
                               quantization: quantization ?? graph[inputs[0]].quantization)
    }

    mutating func addScalar(_ value: Float, for output: Int, suffix: String) -> ValueID {
        graph.addConstant(name: "\(tensors[output].name)/\(suffix)", shape: [], data: .float32([value]))
    }

    /// TensorFlow joins the names of fused nodes with ';': the first names the layer.
    private func origin(_ tensor: TensorEntry) -> String {
        String(tensor.name.split(separator: ";").first ?? Substring(tensor.name))
    }

    func shape(_ id: ValueID) -> [Int] {
        graph[id].shape
    }
}

extension FlatVector {
    /// A zero-length vector, for a table field the file leaves out.
    init(empty buffer: FlatBuffer) {
        self.buffer = buffer
        start = 0
        count = 0
        elementSize = 4
    }
}

extension TensorType {
    /// Bytes per element of the types whose constant data can be read.
    var byteSize: Int? {
        switch self {
        case .FLOAT32, .INT32: return 4
        case .FLOAT16: return 2
        case .INT64: return 8
        case .BOOL, .INT8, .UINT8: return 1
        default: return nil
        }
    }
}

func floats(_ bytes: ArraySlice<UInt8>) -> [Float] {
    bytes.withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
}

func halfFloats(_ bytes: ArraySlice<UInt8>) -> [Float] {
    bytes.withUnsafeBytes { raw in
        (0..<(raw.count / 2)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
    }
}
