import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
import H5ToLiteKeras
import H5ToLitePasses
@testable import H5ToLiteTFLite

private let fixtures = repository.appendingPathComponent("Tests/H5ToLiteTFLiteTests/Fixtures/metadata")

private func sampleMetadata() -> PackedMetadata {
    let image = TensorMetadata(name: "image", description: "an image", content: .image(.RGB, width: 32, height: 32),
                               normalization: Normalization(mean: [127.5], std: [127.5]),
                               range: StatsRange(min: [-1], max: [1]))
    let labels = AssociatedFile(name: "labels.txt", description: "the classes", type: .TENSOR_AXIS_LABELS)
    let scores = TensorMetadata(name: "dense", content: .feature, range: StatsRange(min: [0], max: [1]), associatedFiles: [labels])
    let metadata = ModelMetadata(name: "mini", description: "a test", version: "v2", author: "someone", license: "MIT",
                                 inputs: [image], outputs: [scores])
    return PackedMetadata(metadata: metadata, files: [("labels.txt", Array("no\nyes\n".utf8))])
}

private func miniInception() throws -> Graph {
    let path = repository.appendingPathComponent("golden/models/mini_inception/keras3.h5").path
    return try runPipeline(try importKeras(try loadKerasModel(path: path)))
}

@Suite struct MetadataTests {
    /// A file tflite-support's own image classifier writer made (make_fixture.py), read back.
    @Test func readsTheOfficialWritersFile() throws {
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("fixture.json"))) as! [String: Any]
        let written = (expected["metadata"] as! [String: Any])
        let packed = try #require(try readMetadata(path: fixtures.appendingPathComponent("official_image_classifier.tflite").path))
        #expect(packed.metadata.name == written["name"] as? String)
        #expect(packed.metadata.description == written["description"] as? String)
        let input = try #require(packed.metadata.inputs.first)
        #expect(input.name == "image")
        #expect(input.normalization?.mean == (expected["mean"] as! [Double]).map { Float($0) })
        #expect(input.normalization?.std == (expected["std"] as! [Double]).map { Float($0) })
        if case let .image(space, _, _) = input.content { #expect(space == .RGB) } else { Issue.record("input is not an image: \(input.content)") }
        let output = try #require(packed.metadata.outputs.first)
        #expect(output.name == "probability")
        #expect(output.range == StatsRange(min: [0], max: [1]))
        #expect(output.associatedFiles.map(\.type) == [.TENSOR_AXIS_LABELS])
        #expect(packed.labels(ofOutput: 0) == expected["labels"] as? [String])
        // The model itself still reads as before.
        #expect(try readTFLite(bytes: [UInt8](Data(contentsOf: fixtures.appendingPathComponent("official_image_classifier.tflite")))).ops.count > 0)
    }

    @Test func writtenMetadataReadsBackAndTheModelIsUnchanged() throws {
        let graph = try miniInception()
        let plain = try writeTFLite(graph)
        let bytes = try writeTFLite(graph, metadata: sampleMetadata())
        #expect(try readMetadata(bytes: bytes) == sampleMetadata())
        #expect(try readMetadata(bytes: plain) == nil)
        #expect(try readTFLite(bytes: bytes) == readTFLite(bytes: plain))
        #expect(try summarizeTFLite(bytes: bytes).minimumRuntime == summarizeTFLite(bytes: plain).minimumRuntime)
    }

    /// Debian's flatc, an independent reader of schema/metadata_schema.fbs, decodes the buffer.
    @Test func flatcDecodesTheMetadataBuffer() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-metadata-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(encodeMetadata(sampleMetadata().metadata)).write(to: folder.appendingPathComponent("m.bin"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flatc")
        process.arguments = ["--json", "--raw-binary", "--strict-json", "-o", folder.path,
                             repository.appendingPathComponent("schema/metadata_schema.fbs").path, "--", folder.appendingPathComponent("m.bin").path]
        try process.run()
        process.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("m.json"))) as! [String: Any]
        #expect(json["name"] as? String == "mini")
        #expect(json["license"] as? String == "MIT")
        #expect(json["min_parser_version"] as? String == "1.0.0")
        let subgraph = (json["subgraph_metadata"] as! [[String: Any]])[0]
        let input = (subgraph["input_tensor_metadata"] as! [[String: Any]])[0]
        let unit = (input["process_units"] as! [[String: Any]])[0]
        #expect(unit["options_type"] as? String == "NormalizationOptions")
        #expect((unit["options"] as! [String: Any])["std"] as? [Double] == [127.5])
        let content = input["content"] as! [String: Any]
        #expect(content["content_properties_type"] as? String == "ImageProperties")
        #expect((content["content_properties"] as! [String: Any])["color_space"] as? String == "RGB")
        let output = (subgraph["output_tensor_metadata"] as! [[String: Any]])[0]
        #expect((output["associated_files"] as! [[String: Any]])[0]["type"] as? String == "TENSOR_AXIS_LABELS")
    }

    /// The CRC-32 check value of the format's specification: CRC of the ASCII digits 1-9.
    @Test func crcMatchesTheCheckValue() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func wrongIdentifierIsOneLineNamingTheBuffer() throws {
        var bytes = try writeTFLite(try miniInception(), metadata: sampleMetadata())
        let at = try #require(find(Array("M001".utf8), in: bytes))
        bytes[at] = UInt8(ascii: "X")
        let error = try #require(throws: H5ToLiteError.self) { try readMetadata(bytes: bytes) }
        #expect(error.location == "TFLITE_METADATA")
        #expect(error.message.contains("\"X001\""))
    }

    @Test func damagedArchiveIsOneLineNamingTheEntry() throws {
        var bytes = try writeTFLite(try miniInception(), metadata: sampleMetadata())
        let at = try #require(find(Array("no\nyes".utf8), in: bytes))
        bytes[at] = UInt8(ascii: "N")
        let error = try #require(throws: H5ToLiteError.self) { try readMetadata(bytes: bytes) }
        #expect(error.description == "associated files (ZIP): entry 'labels.txt': CRC-32 does not match its contents")
    }

    /// Every byte of the metadata buffer and the archive changed in turn: each read ends in
    /// metadata or a one-line error, never a crash.
    @Test func everyDamagedByteIsHandled() throws {
        let bytes = try writeTFLite(try miniInception(), metadata: sampleMetadata())
        let start = try #require(find(Array("M001".utf8), in: bytes)) - 4
        for index in start..<bytes.count where (index - start) % 3 == 0 {
            var damaged = bytes
            damaged[index] ^= 0xA5
            do {
                _ = try readMetadata(bytes: damaged)
            } catch let error as H5ToLiteError {
                #expect(!error.description.contains("\n"))
            }
        }
    }
}

private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
}
