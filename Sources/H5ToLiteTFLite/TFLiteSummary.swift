import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// What `h5tolite inspect` shows of a .tflite file beyond its graph: the header fields,
/// metadata and operator codes as stored.
public struct TFLiteSummary {
    public var schemaVersion: UInt32
    public var description: String
    public var minimumRuntime: String?
    public var signatures: [String]
    /// (op name, version, how many operators use it), in operator-code order.
    public var operatorCodes: [(name: String, version: Int32, uses: Int)]
    public var bufferBytes: Int
    public var fileBytes: Int
    /// The constants stored in TFLite's sparse format, in tensor order.
    public var sparseTensors: [SparseTensorSummary]
}

public struct SparseTensorSummary: Sendable {
    public var name: String
    public var type: String
    public var shape: [Int]
    /// Values the buffer stores, of the tensor's elements.
    public var storedValues: Int
    public var elements: Int
    public var layout: SparseLayout

    public var density: Double { elements == 0 ? 0 : Double(storedValues) / Double(elements) }
}

public func summarizeTFLite(bytes: [UInt8]) throws -> TFLiteSummary {
    let buffer = FlatBuffer(bytes: bytes)
    guard buffer.fileIdentifier == "TFL3" else { throw H5ToLiteError("not a TFLite file (no TFL3 identifier)") }
    let model = try buffer.rootTable()
    let buffers = try model.vector(Slot.Model.buffers, elementSize: 4)
    var bufferData: [ArraySlice<UInt8>] = []
    for index in 0..<(buffers?.count ?? 0) {
        bufferData.append(try buffers!.table(index).vector(Slot.Buffer.data, elementSize: 1)?.bytes ?? [])
    }
    var minimumRuntime: String?
    if let metadata = try model.vector(Slot.Model.metadata, elementSize: 4) {
        for index in 0..<metadata.count {
            let entry = try metadata.table(index)
            let slot = Int(try entry.scalar(Slot.Metadata.buffer, default: UInt32(0)))
            if try entry.string(Slot.Metadata.name) == "min_runtime_version", slot < bufferData.count {
                minimumRuntime = String(decoding: bufferData[slot].prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }
    var signatures: [String] = []
    if let defs = try model.vector(Slot.Model.signature_defs, elementSize: 4) {
        for index in 0..<defs.count {
            signatures.append(try defs.table(index).string(Slot.SignatureDef.signature_key) ?? "?")
        }
    }
    var uses: [Int: Int] = [:]
    if let subgraphs = try model.vector(Slot.Model.subgraphs, elementSize: 4), subgraphs.count > 0,
       let operators = try subgraphs.table(0).vector(Slot.SubGraph.operators, elementSize: 4) {
        for index in 0..<operators.count {
            uses[Int(try operators.table(index).scalar(Slot.Operator.opcode_index, default: UInt32(0))), default: 0] += 1
        }
    }
    var codes: [(String, Int32, Int)] = []
    if let opcodes = try model.vector(Slot.Model.operator_codes, elementSize: 4) {
        for index in 0..<opcodes.count {
            let code = try opcodes.table(index)
            let deprecated = Int32(try code.scalar(Slot.OperatorCode.deprecated_builtin_code, default: Int8(0)))
            let builtin = max(deprecated, try code.scalar(Slot.OperatorCode.builtin_code, default: Int32(0)))
            let name = BuiltinOperator(rawValue: builtin).map { "\($0)" } ?? "op \(builtin)"
            codes.append((name, try code.scalar(Slot.OperatorCode.version, default: Int32(1)), uses[index] ?? 0))
        }
    }
    let sparse = try sparseTensors(model, bufferData: bufferData)
    return TFLiteSummary(schemaVersion: try model.scalar(Slot.Model.version, default: UInt32(0)),
                         description: try model.string(Slot.Model.description) ?? "",
                         minimumRuntime: minimumRuntime, signatures: signatures, operatorCodes: codes,
                         bufferBytes: bufferData.reduce(0) { $0 + $1.count }, fileBytes: bytes.count,
                         sparseTensors: sparse)
}

/// The sparse constants of subgraph 0, their layouts checked against their shapes.
private func sparseTensors(_ model: FlatTable, bufferData: [ArraySlice<UInt8>]) throws -> [SparseTensorSummary] {
    guard let subgraphs = try model.vector(Slot.Model.subgraphs, elementSize: 4), subgraphs.count > 0,
          let tensors = try subgraphs.table(0).vector(Slot.SubGraph.tensors, elementSize: 4) else { return [] }
    var found: [SparseTensorSummary] = []
    for index in 0..<tensors.count {
        let table = try tensors.table(index)
        let name = try table.string(Slot.Tensor.name) ?? "tensor\(index)"
        let shape = try table.vector(Slot.Tensor.shape, elementSize: 4)?.scalars(Int32.self).map(Int.init) ?? []
        guard shape.allSatisfy({ $0 >= 0 }) else { continue }
        let layout: SparseLayout
        do {
            guard let read = try TFLiteGraphReader.readSparsity(table, shape: shape) else { continue }
            layout = read
        } catch let error as H5ToLiteError {
            throw error.at("tensor \(index) ('\(name)')")
        }
        let type = TensorType(rawValue: try table.scalar(Slot.Tensor.type, default: Int8(0)))
        let buffer = Int(try table.scalar(Slot.Tensor.buffer, default: UInt32(0)))
        let stored = buffer < bufferData.count ? bufferData[buffer].count / (type?.byteSize ?? 1) : 0
        found.append(SparseTensorSummary(name: name, type: type.map { "\($0)" } ?? "?", shape: shape, storedValues: stored,
                                         elements: shape.reduce(1, *), layout: layout))
    }
    return found
}
