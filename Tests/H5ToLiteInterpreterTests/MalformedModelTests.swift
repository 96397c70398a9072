import Foundation
import H5ToLiteIR
import Testing
import H5ToLiteCore
@testable import H5ToLiteInterpreter
@testable import H5ToLiteTFLite

/// Damaged .tflite files must give an error, never a crash: a corpus made at
/// test time by damaging golden files, and a few damaged files kept as fixtures.
@Suite struct MalformedModelTests {
    private func golden(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: repositoryRoot.appendingPathComponent("golden/models/\(name)/tf.tflite")))
    }

    /// Reads the file and, if it reads, builds and runs an interpreter on zeros:
    /// either may refuse, neither may crash.
    private func readAndRun(_ bytes: [UInt8]) -> Bool {
        guard let graph = try? readTFLite(bytes: bytes) else { return false }
        guard graph.values.allSatisfy({ elementCount($0.shape) < 1 << 22 }),
              let interpreter = try? Interpreter(graph: graph, threads: 2) else { return false }
        let inputs = graph.inputs.map { Tensor(shape: graph[$0].shape, data: Array(repeating: 0, count: elementCount(graph[$0].shape))) }
        return (try? interpreter.run(inputs)) != nil
    }

    private func expectRefused(_ bytes: [UInt8], mentioning text: String? = nil, _ comment: Comment) {
        do {
            _ = try readTFLite(bytes: bytes)
            Issue.record("read without an error: \(comment)")
        } catch let error as H5ToLiteError {
            #expect(text.map(error.description.contains) ?? true, "\(comment): \(error)")
        } catch {
            Issue.record("\(comment): unexpected error type \(error)")
        }
    }

    @Test func truncatedFilesAreRefused() throws {
        for name in ["layers_activation", "pruned_tfmot"] {
            let bytes = try golden(name)
            for length in Array(0..<64) + Array(stride(from: 64, to: bytes.count - 16, by: 97)) {
                expectRefused(Array(bytes.prefix(length)), "\(name) cut to \(length) bytes")
            }
        }
    }

    @Test func targetedDamageIsNamed() throws {
        let bytes = try golden("layers_activation")
        let layout = try ModelLayout(bytes)
        var damaged = bytes
        damaged[4..<8] = [0x54, 0x46, 0x4c, 0x32]  // "TFL2"
        expectRefused(damaged, mentioning: "file identifier", "wrong identifier")
        expectRefused(bytes.patched(at: 0, UInt32(bytes.count + 100)), mentioning: "malformed flatbuffer", "root offset past the end")
        expectRefused(bytes.patched(at: 0, UInt32(2)), mentioning: "malformed flatbuffer", "misaligned root")
        expectRefused(bytes.patched(at: layout.model.position, Int32.min), mentioning: "vtable", "vtable offset outside the file")
        expectRefused(bytes.patched(at: try layout.operatorField(Slot.Operator.opcode_index), UInt32(9999)),
                      mentioning: "opcode index 9999", "opcode index out of range")
        expectRefused(bytes.patched(at: try layout.operatorInputs().start, Int32(9999)),
                      mentioning: "tensor index 9999", "tensor index out of range")
        expectRefused(bytes.patched(at: try layout.constantTensorField(Slot.Tensor.buffer), UInt32(99999)),
                      mentioning: "buffer 99999", "buffer index out of range")
        let data = try layout.constantData()
        expectRefused(bytes.patched(at: data.start - 4, UInt32(data.count - 4)), mentioning: "needs", "buffer smaller than its shape")
        let shape = try layout.constantShape()
        expectRefused(bytes.patched(at: shape.start, Int32(-3)), mentioning: "negative dimension", "negative dimension")
        expectRefused(bytes.patched(at: shape.start, Int32.max), mentioning: "too large", "huge dimension")
        expectRefused(bytes.patched(at: try layout.operatorField(Slot.Operator.builtin_options_type), UInt8(99)),
                      mentioning: "options of type", "options of another op's type")
    }

    @Test func unsupportedOperatorsNameThemselves() throws {
        let bytes = try golden("layers_activation")
        let code = try ModelLayout(bytes).operatorCodeField(Slot.OperatorCode.builtin_code)
        // Above 127, so it wins over the deprecated one-byte code.
        expectRefused(bytes.patched(at: code, BuiltinOperator.DILATE.rawValue), mentioning: "(DILATE): this operator is not supported", "DILATE")
        expectRefused(bytes.patched(at: code, Int32(250)), mentioning: "unknown builtin operator code 250", "unknown code")
    }

    @Test func randomDamageNeverCrashes() throws {
        var random = SeededGenerator(seed: 42)
        for name in ["layers_activation", "layers_merge", "pruned_tfmot"] {
            let bytes = try golden(name)
            for _ in 0..<300 {
                var damaged = bytes
                // Tables and vtables sit near the front, weights at the back: damage both.
                let end = Bool.random(using: &random) ? damaged.count / 4 : damaged.count
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    damaged[Int.random(in: 0..<end, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                _ = readAndRun(damaged)
            }
        }
    }

    @Test func committedMalformedFixturesAreRefused() throws {
        let folder = fixtures.appendingPathComponent("malformed")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tflite") }
        try #require(files.count >= 4)
        for file in files {
            do {
                _ = try readTFLite(path: folder.appendingPathComponent(file).path)
                Issue.record("\(file) read without an error")
            } catch let error as H5ToLiteError {
                #expect(error.description.hasPrefix(folder.appendingPathComponent(file).path), "\(error)")
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// A copy with `value` written little-endian at `position`.
    func patched<T: FixedWidthInteger>(at position: Int, _ value: T) -> [UInt8] {
        var copy = self
        Swift.withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(position..<(position + $0.count), with: $0) }
        return copy
    }
}

/// Where the fields of a .tflite file sit, found with the flatbuffer reader, so a
/// test can damage exactly one of them.
struct ModelLayout {
    let model: FlatTable
    let subgraph: FlatTable

    init(_ bytes: [UInt8]) throws {
        model = try FlatBuffer(bytes: bytes).rootTable()
        subgraph = try model.vector(Slot.Model.subgraphs, elementSize: 4)!.table(0)
    }

    private func tables(_ table: FlatTable, _ slot: Int) throws -> [FlatTable] {
        let vector = try table.vector(slot, elementSize: 4)!
        return try (0..<vector.count).map { try vector.table($0) }
    }

    /// The field in the first operator that stores it.
    func operatorField(_ slot: Int) throws -> Int {
        try tables(subgraph, Slot.SubGraph.operators).lazy.compactMap { try $0.field(slot, size: 1) }.first!
    }

    func operatorInputs() throws -> FlatVector {
        try tables(subgraph, Slot.SubGraph.operators)[0].vector(Slot.Operator.inputs, elementSize: 4)!
    }

    /// The field in the first operator code that stores it.
    func operatorCodeField(_ slot: Int) throws -> Int {
        try tables(model, Slot.Model.operator_codes).lazy.compactMap { try $0.field(slot, size: 4) }.first!
    }

    /// A tensor with constant data and at least two elements past its first axis.
    private func constantTensor() throws -> FlatTable {
        let buffers = try tables(model, Slot.Model.buffers)
        return try tables(subgraph, Slot.SubGraph.tensors).first { tensor in
            let buffer = Int(try tensor.scalar(Slot.Tensor.buffer, default: UInt32(0)))
            let shape = try tensor.vector(Slot.Tensor.shape, elementSize: 4)?.scalars(Int32.self) ?? []
            let data = try buffers[buffer].vector(Slot.Buffer.data, elementSize: 1)?.count ?? 0
            return buffer > 0 && data > 0 && shape.count >= 2 && shape.dropFirst().reduce(1, *) >= 2
        }!
    }

    func constantTensorField(_ slot: Int) throws -> Int {
        try constantTensor().field(slot, size: 4)!
    }

    func constantShape() throws -> FlatVector {
        try constantTensor().vector(Slot.Tensor.shape, elementSize: 4)!
    }

    func constantData() throws -> FlatVector {
        let buffer = Int(try constantTensor().scalar(Slot.Tensor.buffer, default: UInt32(0)))
        return try tables(model, Slot.Model.buffers)[buffer].vector(Slot.Buffer.data, elementSize: 1)!
    }
}

/// Files libFuzzer found crashing (scripts/fuzz.sh), kept as regressions: each must now be
/// refused with an error by the reader or the interpreter, or run.
@Suite struct FuzzRegressionTests {
    @Test func fuzzerFindingsNoLongerCrash() throws {
        let folder = fixtures.appendingPathComponent("fuzz")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tflite") }
        try #require(!files.isEmpty)
        for file in files {
            guard let graph = try? readTFLite(path: folder.appendingPathComponent(file).path) else { continue }
            guard let interpreter = try? Interpreter(graph: graph, threads: 1) else { continue }
            let input = graph[graph.inputs[0]]
            _ = try? interpreter.run([Tensor(shape: input.shape, data: [Float](repeating: 0, count: elementCount(input.shape)))])
        }
    }
}
