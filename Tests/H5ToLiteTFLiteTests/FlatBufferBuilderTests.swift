import Foundation
import Testing
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
@testable import H5ToLiteTFLite

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Decodes a flatbuffer with Debian's flatc against schema/tflite.fbs, as JSON.
func flatcJSON(_ bytes: [UInt8]) throws -> [String: Any] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-flatc-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("model.tflite")
    try Data(bytes).write(to: file)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/flatc")
    process.arguments = ["--json", "--raw-binary", "--strict-json", "-o", folder.path,
                         repository.appendingPathComponent("schema/tflite.fbs").path, "--", file.path]
    try process.run()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let json = try Data(contentsOf: folder.appendingPathComponent("model.json"))
    return try JSONSerialization.jsonObject(with: json) as! [String: Any]
}

@Suite struct TFLiteWriterTests {
    func sampleBytes() throws -> [UInt8] {
        let path = repository.appendingPathComponent("golden/models/mini_inception/keras3.h5").path
        return try writeTFLite(try runPipeline(try importKeras(try loadKerasModel(path: path))))
    }

    /// y = (x + a) + b, with b's 1000 values equal to a's or not.
    func twoAdds(sameValues: Bool) throws -> Graph {
        var graph = Graph(name: "adds")
        let x = graph.addInput(name: "x", shape: [1, 1000])
        let values = (0..<1000).map { Float($0) * 0.5 }
        let a = graph.addConstant(name: "a", shape: [1000], data: .float32(values))
        let b = graph.addConstant(name: "b", shape: [1000], data: .float32(sameValues ? values : values.map { $0 + 1 }))
        let sum = try graph.addOp(.binary(.add, .none), inputs: [x, a], name: "sum", origin: "sum")
        graph.outputs = [try graph.addOp(.binary(.add, .none), inputs: [sum, b], name: "y", origin: "y")]
        return graph
    }

    /// Constants with the same bytes share one buffer, as in TensorFlow's files (a separable
    /// convolution's zero biases): the data is stored once, and both tensors read it back.
    @Test func constantsWithTheSameBytesShareABuffer() throws {
        let shared = try writeTFLite(try twoAdds(sameValues: true))
        let separate = try writeTFLite(try twoAdds(sameValues: false))
        #expect(shared.count <= separate.count - 4000)
        let read = try readTFLite(bytes: shared)
        let constants = read.values.filter { $0.constant != nil }
        #expect(constants.count == 2)
        #expect(constants.allSatisfy { $0.constant == .float32((0..<1000).map { Float($0) * 0.5 }) })
    }

    @Test func fileIdentifierAndRootAreInPlace() throws {
        let bytes = try sampleBytes()
        #expect(Array(bytes[4..<8]) == Array("TFL3".utf8))
        #expect(bytes.count % 16 == 0)
    }

    @Test func flatcDecodesWhatWeWrite() throws {
        let model = try flatcJSON(try sampleBytes())
        #expect(model["version"] as? Int == 3)
        let subgraphs = model["subgraphs"] as! [[String: Any]]
        let operators = subgraphs[0]["operators"] as! [[String: Any]]
        let codes = (model["operator_codes"] as! [[String: Any]]).map { $0["builtin_code"] as? String ?? "ADD" }
        #expect(codes.contains("CONV_2D") && codes.contains("CONCATENATION") && codes.contains("SOFTMAX"))
        #expect(!operators.isEmpty)
        let signatures = model["signature_defs"] as! [[String: Any]]
        #expect(signatures[0]["signature_key"] as? String == "serving_default")
    }

    @Test func defaultsAreOmittedAndVTablesShared() throws {
        var builder = FlatBufferBuilder()
        var tables: [FBOffset] = []
        for stride in [2, 2] {
            builder.startTable()
            builder.add(Slot.Conv2DOptions.stride_w, Int32(stride))
            builder.add(Slot.Conv2DOptions.dilation_w_factor, Int32(1), default: 1)
            tables.append(builder.endTable())
        }
        // The second table reuses the first one's vtable: 8 bytes of table each, one 8-byte vtable.
        #expect(builder.size == 8 + 8 + 8)
        #expect(tables[0] != tables[1])
    }
}
