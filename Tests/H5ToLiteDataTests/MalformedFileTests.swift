import Foundation
import Testing
import H5ToLiteCore
@testable import H5ToLiteData

/// Damaged and hostile files must give an error that names the file: never a crash,
/// a hang or a huge allocation.
@Suite struct MalformedFileTests {
    static let samples = exactSamples + jpegSamples

    func bytes(_ sample: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: samplePath(sample))))
    }

    func expectError(_ bytes: [UInt8], path: String, containing text: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decodeImage(bytes, path: path)
            Issue.record("\(path) decoded", sourceLocation: sourceLocation)
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("\(path): ") && (text.isEmpty || message.contains(text)), "\(message)", sourceLocation: sourceLocation)
            #expect(!message.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: samples)
    func everyTruncationIsAnError(_ sample: String) throws {
        let whole = try bytes(sample)
        for length in 0..<whole.count {
            expectError(Array(whole[..<length]), path: "cut-\(length)-\(sample)")
        }
    }

    @Test(arguments: samples)
    func corruptBytesNeverCrash(_ sample: String) throws {
        let whole = try bytes(sample)
        var generator = SeededGenerator(seed: UInt64(sample.utf8.count))
        for _ in 0..<400 {
            var damaged = whole
            for _ in 0..<Int(generator.next() % 3 + 1) {
                let offset = Int(generator.next() % UInt64(damaged.count))
                damaged[offset] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                let image = try decodeImage(damaged, path: sample)
                #expect(image.pixels.count == image.width * image.height * image.channels)
            } catch {
                #expect("\(error)".hasPrefix("\(sample): "))
            }
        }
    }

    @Test func wrongMagicIsNamed() throws {
        var png = try bytes("png_rgb.png")
        png[1] = 0x51
        expectError(png, path: "x.png", containing: "not a PNG, JPEG or DICOM file")
        var dicom = try bytes("dicom_implicit")
        dicom[131] = 0x58
        expectError(dicom, path: "scan", containing: "not a PNG, JPEG or DICOM file")
        expectError(dicom, path: "scan.dcm")
    }

    @Test func unsupportedTransferSyntaxIsNamed() {
        var builder = DICOMBuilder()
        builder.image(rows: 1, columns: 1)
        builder.add(0x7FE0_0010, "OB", undefinedLength: [])
        expectError(builder.file(transferSyntax: "1.2.840.10008.1.2.4.90"), path: "j2k.dcm",
                    containing: "unsupported DICOM transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000 lossless)")
        expectError(builder.file(transferSyntax: "1.2.840.10008.1.2.5"), path: "rle.dcm", containing: "1.2.840.10008.1.2.5")
        expectError(builder.file(transferSyntax: "1.9.9"), path: "odd.dcm", containing: "1.9.9")
    }

    @Test func hugeDeclaredLengthsAreRefused() throws {
        var builder = DICOMBuilder()
        builder.image(rows: 2, columns: 2)
        builder.raw(DICOMBuilder.header(0x7FE0_0010, "OB", length: 0xFFFF_FFF0, explicitVR: true) + [1, 2, 3, 4])
        expectError(builder.file(), path: "long.dcm", containing: "claims 4294967280 bytes")

        var huge = DICOMBuilder()
        huge.image(rows: 65535, columns: 65535, bits: 16)
        huge.add(0x7FE0_0010, "OW", [0, 0])
        expectError(huge.file(), path: "huge.dcm", containing: "too many pixels")

        var short = DICOMBuilder()
        short.image(rows: 100, columns: 100, bits: 16)
        short.add(0x7FE0_0010, "OW", [0, 0, 0, 0])
        expectError(short.file(), path: "short.dcm", containing: "holds 4 bytes")

        var png = try bytes("png_gray8.png")
        png.replaceSubrange(16..<24, with: [0, 0, 0x40, 0, 0, 0, 0x40, 0])  // 16384 x 16384
        let crc = crc32(png[12..<29])
        png.replaceSubrange(29..<33, with: (0..<4).map { UInt8(crc >> (24 - 8 * $0) & 0xFF) })
        expectError(png, path: "huge.png", containing: "too many pixels")

        var jpeg = try bytes("jpeg_gray.jpg")
        let frame = try #require((0..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((frame + 5)..<(frame + 9), with: [0xFF, 0x00, 0xFF, 0x00])  // 65280 x 65280
        expectError(jpeg, path: "huge.jpg", containing: "too many pixels")
    }

    @Test func deepSequencesAndStrayItemsAreRefused() {
        var nested: [UInt8] = []
        for _ in 0..<200 {
            nested += DICOMBuilder.header(0xFFFE_E000, "", length: 0xFFFF_FFFF, explicitVR: true)
            nested += DICOMBuilder.header(0x0008_1140, "SQ", length: 0xFFFF_FFFF, explicitVR: true)
        }
        var deep = DICOMBuilder()
        deep.add(0x0008_1115, "SQ", undefinedLength: nested)
        expectError(deep.file(), path: "deep.dcm", containing: "nest deeper")

        var stray = DICOMBuilder()
        stray.raw(DICOMBuilder.header(0xFFFE_E000, "", length: 0, explicitVR: true))
        expectError(stray.file(), path: "stray.dcm", containing: "stray")

        var empty = DICOMBuilder()
        empty.image(rows: 1, columns: 1)
        expectError(empty.file(), path: "empty.dcm", containing: "no pixel data")
    }

    @Test func multiFrameAndUnsupportedLayoutsAreRefused() {
        var frames = DICOMBuilder()
        frames.add(0x0028_0008, "IS", DICOMBuilder.text("3"))
        frames.image(rows: 1, columns: 1)
        frames.add(0x7FE0_0010, "OB", [0, 0, 0, 0])
        expectError(frames.file(), path: "frames.dcm", containing: "multi-frame")

        var palette = DICOMBuilder()
        palette.image(rows: 1, columns: 1, photometric: "PALETTE COLOR")
        palette.add(0x7FE0_0010, "OB", [0, 0])
        expectError(palette.file(), path: "palette.dcm", containing: "PALETTE COLOR")

        var bits = DICOMBuilder()
        bits.image(rows: 1, columns: 1, bits: 32)
        bits.add(0x7FE0_0010, "OB", [0, 0, 0, 0])
        expectError(bits.file(), path: "bits.dcm", containing: "BitsAllocated 32")
    }

    @Test func missingFileIsNamed() {
        #expect { try loadImage(path: "/nonexistent/x.png") } throws: { "\($0)".hasPrefix("/nonexistent/x.png: cannot read") }
    }
}


func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
