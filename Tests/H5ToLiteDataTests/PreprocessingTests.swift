import Foundation
import Testing
import H5ToLiteCore
@testable import H5ToLiteData

/// Checks against fixtures made by keras.applications' preprocess_input and tf.image.resize.
@Suite struct PreprocessingTests {
    @Test(arguments: [Preprocessing.torch, .tf, .caffe])
    func matchesKerasPreprocessInput(_ mode: Preprocessing) throws {
        var pixels = try fixture("preprocess_input.npy").data
        try mode.apply(to: &pixels, channels: 3)
        let want = try fixture("preprocess_\(mode.rawValue).npy")
        #expect(largestDifference(pixels, want.data) <= 1e-4)
    }

    @Test func noneLeavesPixelsAlone() throws {
        var pixels: [Float] = [0, 12.5, 255]
        try Preprocessing.none.apply(to: &pixels, channels: 1)
        #expect(pixels == [0, 12.5, 255])
    }

    @Test func perChannelModesNeedRGB() {
        var pixels: [Float] = [1, 2]
        #expect(throws: H5ToLiteError.self) { try Preprocessing.torch.apply(to: &pixels, channels: 1) }
        #expect(throws: H5ToLiteError.self) { try Preprocessing.caffe.apply(to: &pixels, channels: 1) }
    }

    @Test(arguments: [(13, 17), (37, 29), (24, 9)])
    func matchesTensorFlowBilinearResize(_ size: (Int, Int)) throws {
        let input = try fixture("resize_input.npy")
        let image = Image(width: input.shape[1], height: input.shape[0], channels: input.shape[2], pixels: input.data)
        let resized = resizeBilinear(image, height: size.0, width: size.1)
        let want = try fixture("resize_\(size.0)x\(size.1).npy")
        #expect([resized.height, resized.width, resized.channels] == want.shape)
        #expect(largestDifference(resized.pixels, want.data) <= 1e-4)
    }

    @Test func batchMatchesKerasPipeline() throws {
        let names = ["png_rgb.png", "png_gray16.png", "dicom_mono2_16bit_window.dcm", "dicom_implicit"]
        var calls: [[Int]] = []
        let batch = try loadImageBatch(
            paths: names.map(samplePath), height: 16, width: 16, channels: 3, preprocessing: .torch,
            progress: { calls.append([$0, $1]) })
        let want = try fixture("batch_torch_16x16.npy")
        #expect(batch.shape == want.shape)
        #expect(largestDifference(batch.data, want.data) <= 1e-4)
        #expect(calls == [[1, 4], [2, 4], [3, 4], [4, 4]])
    }

    @Test func grayModelsGetRec601Luma() throws {
        let rgb = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 20, 30])
        let gray = converting(rgb, to: 1)
        #expect(gray.channels == 1)
        #expect(abs(gray.pixels[0] - 76.245) < 1e-4 && abs(gray.pixels[1] - 18.15) < 1e-4)
        let batch = try loadImageBatch(paths: [samplePath("png_rgb.png")], height: 24, width: 20, channels: 1, preprocessing: .tf)
        #expect(batch.shape == [1, 24, 20, 1])
    }

    @Test func batchErrorsNameTheFile() {
        let missing = samplePath("no_such_image.png")
        #expect { try loadImageBatch(paths: [missing], height: 4, width: 4, channels: 3, preprocessing: .none) } throws: {
            "\($0)".hasPrefix(missing)
        }
        #expect(throws: H5ToLiteError.self) {
            try loadImageBatch(paths: [], height: 4, width: 4, channels: 2, preprocessing: .none)
        }
        // A preprocessing the input cannot take is refused before any file is read.
        #expect { try loadImageBatch(paths: [missing], height: 4, width: 4, channels: 1, preprocessing: .caffe) } throws: {
            "\($0)".hasPrefix("caffe preprocessing works on RGB images")
        }
    }

    @Test func listsImageFilesSortedAndRecursively() throws {
        let listed = try imageFiles(in: samplesFolder.path).map { ($0 as NSString).lastPathComponent }
        #expect(listed == (exactSamples + jpegSamples).sorted())

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("h5tolite-images-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for directory in ["b", ".hidden", "a"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        let dicom = try Data(contentsOf: samplesFolder.appendingPathComponent("dicom_implicit"))
        for (name, contents) in [("b/2.PNG", Data()), ("a/9.jpeg", Data()), ("a/scan", dicom), ("a/notes", Data("x".utf8)),
                                 (".hidden/1.png", Data()), ("a/.3.png", Data()), ("readme.txt", Data()), ("0.dcm", Data())] {
            try contents.write(to: folder.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("b/link.jpg").path,
                                                   withDestinationPath: folder.appendingPathComponent("a/9.jpeg").path)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("b/loop").path, withDestinationPath: folder.path)
        let found = try imageFiles(in: folder.path).map { String($0.dropFirst(folder.path.count + 1)) }
        #expect(found == ["0.dcm", "a/9.jpeg", "a/scan", "b/2.PNG", "b/link.jpg"])
        #expect(throws: H5ToLiteError.self) { try imageFiles(in: folder.appendingPathComponent("missing").path) }
    }
}
