import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// Serializes a graph as a TFLite flatbuffer (schema version 3), laid out as
/// TensorFlow's converter does: buffer 0 empty, constant data 16-byte aligned,
/// a dynamic batch axis in `shape_signature`, `min_runtime_version` metadata and
/// a `serving_default` signature named after the model's inputs and outputs. With
/// `metadata`, a TFLITE_METADATA buffer too, and its files in a ZIP after the flatbuffer.
/// Constants in `sparse` (from `planSparseWeights`) are stored in TFLite's sparse format.
public func writeTFLite(_ graph: Graph, description: String = "h5tolite", metadata: PackedMetadata? = nil,
                        sparse: [ValueID: SparseConstant] = [:]) throws -> [UInt8] {
    var plan = FilePlan(sparse: sparse)
    for id in graph.inputs { _ = plan.tensor(for: id, in: graph) }
    for op in graph.ops {
        var encoded = try encode(op, in: graph)
        let tensors = op.inputs.map { plan.tensor(for: $0, in: graph) }
        let constants = encoded.constantOperands.enumerated().map { index, operand in
            plan.addConstant(name: "\(graph[op.outputs[0]].name)/operand\(index)", shape: operand.shape,
                             payload: .int32(operand.values))
        }
        let inputs = encoded.operands(tensors, constants)
        let outputs = op.outputs.map { plan.tensor(for: $0, in: graph) }
        if op.kind.isFullyConnected, op.inputs.count > 1, plan.sparse[op.inputs[1]] != nil {
            // TFLite's op versions mark a FULLY_CONNECTED with sparse weights (read in blocks or
            // through DENSIFY) as version 8, as TensorFlow's converter writes it.
            encoded.version = max(encoded.version, 8)
        }
        plan.operators.append(PlannedOperator(opcode: plan.opcode(encoded.code, encoded.version), inputs: inputs,
                                              outputs: outputs, encoded: encoded))
    }
    for id in graph.outputs {
        guard !graph.isConstant(id), !graph.inputs.contains(id) else {
            throw H5ToLiteError(location: "output '\(graph[id].name)'", "a model output must be computed by an op")
        }
    }
    if let metadata {
        plan.metadata = encodeMetadata(metadata.metadata)
        let model = plan.serialize(graph: graph, description: description)
        return metadata.files.isEmpty ? model : model + ZipArchive.archive(metadata.files, after: model.count)
    }
    return plan.serialize(graph: graph, description: description)
}

private enum Payload {
    case empty
    case bytes([UInt8])
    case constant(ConstantData)
    case int32([Int32])
}

private struct PlannedTensor {
    var name: String
    var shape: [Int]
    var type: TensorType
    var buffer: Int
    var dynamicBatch: Bool
    var quantization: Quantization?
    var sparsity: SparseLayout? = nil
}

private struct PlannedOperator {
    var opcode: Int
    var inputs: [Int32]
    var outputs: [Int32]
    var encoded: EncodedOp
}

private struct FilePlan {
    var tensors: [PlannedTensor] = []
    var buffers: [Payload] = [.empty]
    var operators: [PlannedOperator] = []
    var opcodes: [(code: BuiltinOperator, version: Int32)] = []
    /// The TFLITE_METADATA flatbuffer, stored in a buffer after min_runtime_version's.
    var metadata: [UInt8]?
    private var tensorIndex: [ValueID: Int32] = [:]
    /// Buffers of constants, by their size in bytes.
    private var constantBuffers: [Int: [Int]] = [:]
    let sparse: [ValueID: SparseConstant]

    init(sparse: [ValueID: SparseConstant]) {
        self.sparse = sparse
    }

    mutating func tensor(for id: ValueID, in graph: Graph) -> Int32 {
        if let index = tensorIndex[id] { return index }
        let value = graph[id]
        if let stored = sparse[id], value.constant != nil {
            return sparseTensor(for: id, stored, in: graph)
        }
        let buffer = value.constant.map { constantBuffer($0) } ?? 0
        tensors.append(PlannedTensor(name: value.name, shape: value.shape, type: tensorType(value.dtype),
                                     buffer: buffer, dynamicBatch: value.constant == nil && !value.shape.isEmpty,
                                     quantization: value.quantization))
        tensorIndex[id] = Int32(tensors.count - 1)
        return Int32(tensors.count - 1)
    }

    /// The buffer holding `constant`'s bytes. Constants with the same bytes share one, as in
    /// TensorFlow's files: tensors that differ only in their quantization (the zero biases
    /// TFLite's int8 kernels take for a separable convolution's depthwise half, each with its
    /// own scales) store their data once.
    private mutating func constantBuffer(_ constant: ConstantData) -> Int {
        let size = constant.withUnsafeBytes { $0.count }
        for index in constantBuffers[size, default: []] {
            guard case .constant(let stored) = buffers[index] else { continue }
            let same = stored.withUnsafeBytes { a in constant.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, size) == 0 } }
            if same { return index }
        }
        buffers.append(.constant(constant))
        constantBuffers[size, default: []].append(buffers.count - 1)
        return buffers.count - 1
    }

    /// A sparse constant, and when its reader cannot take it as it is, the DENSIFY op that
    /// restores it, placed just before the op being planned (its first reader).
    private mutating func sparseTensor(for id: ValueID, _ stored: SparseConstant, in graph: Graph) -> Int32 {
        let value = graph[id]
        buffers.append(.bytes(stored.stored))
        tensors.append(PlannedTensor(name: value.name, shape: value.shape, type: tensorType(value.dtype), buffer: buffers.count - 1,
                                     dynamicBatch: false, quantization: value.quantization, sparsity: stored.layout))
        var index = Int32(tensors.count - 1)
        if stored.densify {
            tensors.append(PlannedTensor(name: "\(value.name)/densify", shape: value.shape, type: tensorType(value.dtype), buffer: 0,
                                         dynamicBatch: false, quantization: value.quantization))
            operators.append(PlannedOperator(opcode: opcode(.DENSIFY, 1), inputs: [index], outputs: [index + 1],
                                             encoded: EncodedOp(code: .DENSIFY)))
            index += 1
        }
        tensorIndex[id] = index
        return index
    }

    mutating func addConstant(name: String, shape: [Int], payload: Payload) -> Int32 {
        buffers.append(payload)
        tensors.append(PlannedTensor(name: name, shape: shape, type: .INT32, buffer: buffers.count - 1, dynamicBatch: false,
                                     quantization: nil))
        return Int32(tensors.count - 1)
    }

    mutating func opcode(_ code: BuiltinOperator, _ version: Int32) -> Int {
        if let index = opcodes.firstIndex(where: { $0.code == code && $0.version == version }) { return index }
        opcodes.append((code, version))
        return opcodes.count - 1
    }

    var minimumRuntimeVersion: String {
        opcodes.map { minimumRuntime($0.code, $0.version) }.max(by: runtimeVersionLess) ?? "1.5.0"
    }

    func serialize(graph: Graph, description: String) -> [UInt8] {
        var b = FlatBufferBuilder(capacity: estimatedSize(graph))
        // Children first: FlatBuffers are built back to front.
        var allBuffers = buffers
        var runtime = Array(minimumRuntimeVersion.utf8)
        runtime += [UInt8](repeating: 0, count: 16 - runtime.count)
        allBuffers.append(.bytes(runtime))
        let runtimeBuffer = allBuffers.count - 1
        if let metadata { allBuffers.append(.bytes(metadata)) }
        let bufferTables = allBuffers.map { writeBuffer($0, &b) }
        let tensorTables = tensors.map { writeTensor($0, &b) }
        let operatorTables = operators.map { writeOperator($0, &b) }
        let subgraph = writeSubgraph(graph: graph, tensors: tensorTables, operators: operatorTables, &b)
        let opcodeTables = opcodes.map { entry -> FBOffset in
            b.startTable()
            b.add(Slot.OperatorCode.deprecated_builtin_code, Int8(min(entry.code.rawValue, 127)))
            b.add(Slot.OperatorCode.version, entry.version, default: 1)
            b.add(Slot.OperatorCode.builtin_code, entry.code.rawValue)
            return b.endTable()
        }
        var entries = [metadataEntry("min_runtime_version", buffer: runtimeBuffer, &b)]
        if metadata != nil { entries.append(metadataEntry(metadataEntryName, buffer: allBuffers.count - 1, &b)) }
        let signature = writeSignature(graph: graph, &b)
        let descriptionText = b.createString(description)
        let opcodeVector = b.createVector(offsets: opcodeTables)
        let subgraphVector = b.createVector(offsets: [subgraph])
        let bufferVector = b.createVector(offsets: bufferTables)
        let metadataVector = b.createVector(offsets: entries)
        let signatureVector = b.createVector(offsets: [signature])
        b.startTable()
        b.add(Slot.Model.version, UInt32(3))
        b.add(Slot.Model.operator_codes, opcodeVector)
        b.add(Slot.Model.subgraphs, subgraphVector)
        b.add(Slot.Model.description, descriptionText)
        b.add(Slot.Model.buffers, bufferVector)
        b.add(Slot.Model.metadata, metadataVector)
        b.add(Slot.Model.signature_defs, signatureVector)
        let model = b.endTable()
        return b.finish(root: model, fileIdentifier: "TFL3")
    }

    private func metadataEntry(_ name: String, buffer: Int, _ b: inout FlatBufferBuilder) -> FBOffset {
        let text = b.createString(name)
        b.startTable()
        b.add(Slot.Metadata.name, text)
        b.add(Slot.Metadata.buffer, UInt32(buffer))
        return b.endTable()
    }

    private func estimatedSize(_ graph: Graph) -> Int {
        graph.values.reduce(1 << 20) { $0 + ($1.constant.map { $0.count * 4 + 32 } ?? 256) }
    }

    private func writeBuffer(_ payload: Payload, _ b: inout FlatBufferBuilder) -> FBOffset {
        let data: FBOffset?
        switch payload {
        case .empty: data = nil
        case .bytes(let bytes): data = bytes.withUnsafeBytes { b.createByteVector($0, alignment: 16) }
        case .int32(let values): data = values.withUnsafeBytes { b.createByteVector($0, alignment: 16) }
        case .constant(let constant): data = constant.withUnsafeBytes { b.createByteVector($0, alignment: 16) }
        }
        b.startTable()
        b.add(Slot.Buffer.data, data)
        return b.endTable()
    }

    private func writeTensor(_ tensor: PlannedTensor, _ b: inout FlatBufferBuilder) -> FBOffset {
        let name = b.createString(tensor.name)
        let shape = b.createVector(tensor.shape.map { Int32($0) })
        let signature = tensor.dynamicBatch ? b.createVector([Int32(-1)] + tensor.shape.dropFirst().map { Int32($0) }) : nil
        let quantization = tensor.quantization.map { writeQuantization($0, &b) }
        let sparsity = tensor.sparsity.map { writeSparsity($0, &b) }
        b.startTable()
        b.add(Slot.Tensor.shape, shape)
        b.add(Slot.Tensor.type, tensor.type.rawValue)
        b.add(Slot.Tensor.buffer, UInt32(tensor.buffer))
        b.add(Slot.Tensor.name, name)
        b.add(Slot.Tensor.quantization, quantization)
        b.add(Slot.Tensor.sparsity, sparsity)
        b.add(Slot.Tensor.shape_signature, signature)
        b.add(Slot.Tensor.has_rank, true)
        return b.endTable()
    }

    private func writeQuantization(_ q: Quantization, _ b: inout FlatBufferBuilder) -> FBOffset {
        let scales = b.createVector(q.scales)
        let zeroPoints = b.createVector(q.zeroPoints.map { Int64($0) })
        b.startTable()
        b.add(Slot.QuantizationParameters.scale, scales)
        b.add(Slot.QuantizationParameters.zero_point, zeroPoints)
        b.add(Slot.QuantizationParameters.quantized_dimension, Int32(q.axis))
        return b.endTable()
    }

    private func writeSparsity(_ layout: SparseLayout, _ b: inout FlatBufferBuilder) -> FBOffset {
        let levels = layout.levels.map { level -> FBOffset in
            switch level {
            case .dense(let size):
                b.startTable()
                b.add(Slot.DimensionMetadata.dense_size, Int32(size))
                return b.endTable()
            case .compressed(let segments, let indices):
                let segmentVector = writeIndexVector(segments, &b)
                let indexVector = writeIndexVector(indices, &b)
                b.startTable()
                b.add(Slot.DimensionMetadata.format, DimensionType.SPARSE_CSR.rawValue)
                b.add(Slot.DimensionMetadata.array_segments_type, segmentVector.type.rawValue)
                b.add(Slot.DimensionMetadata.array_segments, segmentVector.table)
                b.add(Slot.DimensionMetadata.array_indices_type, indexVector.type.rawValue)
                b.add(Slot.DimensionMetadata.array_indices, indexVector.table)
                return b.endTable()
            }
        }
        let order = b.createVector(layout.traversalOrder.map { Int32($0) })
        let blockMap = b.createVector(layout.blockMap.map { Int32($0) })
        let metadata = b.createVector(offsets: levels)
        b.startTable()
        b.add(Slot.SparsityParameters.traversal_order, order)
        b.add(Slot.SparsityParameters.block_map, blockMap)
        b.add(Slot.SparsityParameters.dim_metadata, metadata)
        return b.endTable()
    }

    /// An index vector in the narrowest type that holds its largest value, as TensorFlow writes them.
    private func writeIndexVector(_ values: [Int], _ b: inout FlatBufferBuilder) -> (type: SparseIndexVector, table: FBOffset) {
        let largest = values.max() ?? 0
        let type: SparseIndexVector
        let vector: FBOffset
        if largest <= Int(UInt8.max) {
            (type, vector) = (.Uint8Vector, b.createVector(values.map { UInt8($0) }, alignment: 4))
        } else if largest <= Int(UInt16.max) {
            (type, vector) = (.Uint16Vector, b.createVector(values.map { UInt16($0) }, alignment: 4))
        } else {
            (type, vector) = (.Int32Vector, b.createVector(values.map { Int32($0) }))
        }
        b.startTable()
        b.add(Slot.Int32Vector.values, vector)
        return (type, b.endTable())
    }

    private func writeOperator(_ op: PlannedOperator, _ b: inout FlatBufferBuilder) -> FBOffset {
        let options = op.encoded.options?(&b)
        let inputs = b.createVector(op.inputs)
        let outputs = b.createVector(op.outputs)
        b.startTable()
        b.add(Slot.Operator.opcode_index, UInt32(op.opcode))
        b.add(Slot.Operator.inputs, inputs)
        b.add(Slot.Operator.outputs, outputs)
        b.add(Slot.Operator.builtin_options_type, op.encoded.optionsType.rawValue)
        b.add(Slot.Operator.builtin_options, options)
        return b.endTable()
    }

    private func writeSubgraph(graph: Graph, tensors: [FBOffset], operators: [FBOffset], _ b: inout FlatBufferBuilder) -> FBOffset {
        let tensorVector = b.createVector(offsets: tensors)
        let inputs = b.createVector(graph.inputs.map { tensorIndex[$0]! })
        let outputs = b.createVector(graph.outputs.map { tensorIndex[$0]! })
        let operatorVector = b.createVector(offsets: operators)
        let name = b.createString("main")
        b.startTable()
        b.add(Slot.SubGraph.tensors, tensorVector)
        b.add(Slot.SubGraph.inputs, inputs)
        b.add(Slot.SubGraph.outputs, outputs)
        b.add(Slot.SubGraph.operators, operatorVector)
        b.add(Slot.SubGraph.name, name)
        return b.endTable()
    }

    private func writeSignature(graph: Graph, _ b: inout FlatBufferBuilder) -> FBOffset {
        func maps(_ ids: [ValueID]) -> FBOffset {
            let entries = ids.map { id -> FBOffset in
                let name = b.createString(graph[id].name)
                b.startTable()
                b.add(Slot.TensorMap.name, name)
                b.add(Slot.TensorMap.tensor_index, UInt32(tensorIndex[id]!))
                return b.endTable()
            }
            return b.createVector(offsets: entries)
        }
        let inputs = maps(graph.inputs)
        let outputs = maps(graph.outputs)
        let key = b.createString("serving_default")
        b.startTable()
        b.add(Slot.SignatureDef.inputs, inputs)
        b.add(Slot.SignatureDef.outputs, outputs)
        b.add(Slot.SignatureDef.signature_key, key)
        b.add(Slot.SignatureDef.subgraph_index, UInt32(0))
        return b.endTable()
    }
}

private func tensorType(_ dtype: DType) -> TensorType {
    switch dtype {
    case .float32: return .FLOAT32
    case .float16: return .FLOAT16
    case .int32: return .INT32
    case .int8: return .INT8
    case .uint8: return .UINT8
    case .int64: return .INT64
    case .bool: return .BOOL
    }
}
