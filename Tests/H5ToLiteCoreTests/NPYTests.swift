import Foundation
import Testing
@testable import H5ToLiteCore

@Suite struct NPYTests {
    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A .npy file with the given header dictionary and data bytes.
    private func npy(_ header: String, _ data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        let text = Array((header + "\n").utf8)
        let length = version == 1 ? [UInt8(text.count & 0xff), UInt8(text.count >> 8)]
            : [UInt8(text.count & 0xff), UInt8(text.count >> 8), 0, 0]
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
    }

    @Test func roundTripsShapesAndValues() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for tensor in [Tensor(shape: [2, 3], data: [1, -2, 3.5, .infinity, 0, -0]), Tensor(shape: [4], data: [1, 2, 3, 4]),
                       Tensor(shape: [], data: [7]), Tensor(shape: [0, 3], data: [])] {
            let path = folder.appendingPathComponent("x.npy").path
            try writeNPY(tensor, path: path)
            #expect(try readNPY(path: path) == tensor)
        }
        // Only the final file remains: the temporary one was renamed into place.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["x.npy"])
    }

    @Test func headerIsPaddedLikeNumPys() {
        let bytes = encodeNPY(Tensor(shape: [2, 3], data: Array(repeating: 0, count: 6)))
        let header = String(decoding: bytes[10..<(bytes.count - 24)], as: UTF8.self)
        #expect((bytes.count - 24) % 64 == 0)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix("\n"))
    }

    @Test func readsFilesNumPyWrote() throws {
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("golden/models/mini_densenet/input.npy")
        let input = try readNPY(path: golden.path)
        #expect(input.shape.first == 2 && input.shape.count == 4)
        #expect(input.data.count == input.shape.reduce(1, *))
    }

    @Test func convertsOtherTypesToFloat() throws {
        let doubles = [1.5, -2.0].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        #expect(try decodeNPY(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", doubles)).data == [1.5, -2])
        let integers = [Int32(-3), 70000].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        #expect(try decodeNPY(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", integers)).data == [-3, 70000])
        #expect(try decodeNPY(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", [255, 1])).data == [255, 1])
        #expect(try decodeNPY(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", [255, 1], version: 2)).data == [-1, 1])
    }

    @Test func refusesMalformedFiles() {
        let float = withUnsafeBytes(of: Float(1).bitPattern.littleEndian, Array.init)
        let cases: [[UInt8]] = [
            [],
            Array("not numpy".utf8),
            npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", float),
            npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", float),
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", float),
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", float + float),
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", float),
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", float),
            npy("{'descr': '<f4', 'fortran_order': False, }", float),
            Array(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", float).prefix(20)),
            [0x93] + Array("NUMPY".utf8) + [1, 0, 0xff, 0xff, 0x7b],
        ]
        for bytes in cases {
            #expect(throws: H5ToLiteError.self) { try decodeNPY(bytes) }
        }
    }

    @Test func failedWritesLeaveNothingBehind() {
        #expect(throws: H5ToLiteError.self) {
            try writeNPY(Tensor(shape: [1], data: [1]), path: "/nonexistent-folder/x.npy")
        }
        #expect(throws: H5ToLiteError.self) { try readNPY(path: "/nonexistent-folder/x.npy") }
    }
}
