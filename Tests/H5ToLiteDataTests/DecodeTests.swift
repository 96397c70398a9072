import Foundation
import Testing
import H5ToLiteCore
@testable import H5ToLiteData

@Suite struct DecodeTests {
    @Test(arguments: exactSamples)
    func decodesExactly(_ sample: String) throws {
        let image = try loadImage(path: samplePath(sample))
        let want = try expected(for: sample)
        #expect([image.height, image.width, image.channels] == want.shape)
        #expect(image.pixels == want.data, "largest difference \(largestDifference(image.pixels, want.data))")
    }

    @Test(arguments: jpegSamples)
    func decodesJPEGWithinOneLevel(_ sample: String) throws {
        let image = try loadImage(path: samplePath(sample))
        let want = try expected(for: sample)
        #expect([image.height, image.width, image.channels] == want.shape)
        #expect(largestDifference(image.pixels, want.data) <= 1)
    }

    @Test func sixteenBitPNGKeepsItsPrecision() throws {
        let image = try loadImage(path: samplePath("png_gray16.png"))
        #expect(image.pixels.contains { $0 != $0.rounded() })
    }

    @Test func readsUndefinedLengthSequencesAndUNInImplicitVR() throws {
        // An item holding an undefined-length sequence, and a private UN element whose
        // undefined-length value is an implicit-VR sequence, before the pixel data.
        var inner = DICOMBuilder()
        inner.add(0x0008_1150, "UI", DICOMBuilder.text("1.2.3"))
        var innerSequence = DICOMBuilder.header(0xFFFE_E000, "", length: UInt32(inner.body.count), explicitVR: true) + inner.body
        innerSequence += DICOMBuilder.header(0xFFFE_E0DD, "", length: 0, explicitVR: true)
        var item = DICOMBuilder()
        item.add(0x0008_1140, "SQ", undefinedLength: innerSequence)
        var sequence = DICOMBuilder.header(0xFFFE_E000, "", length: 0xFFFF_FFFF, explicitVR: true) + item.body
        sequence += DICOMBuilder.header(0xFFFE_E00D, "", length: 0, explicitVR: true)
        sequence += DICOMBuilder.header(0xFFFE_E0DD, "", length: 0, explicitVR: true)

        var implicitItem = DICOMBuilder()
        implicitItem.explicitVR = false
        implicitItem.add(0x0009_1001, "", [1, 2, 3, 4])
        var unknown = DICOMBuilder.header(0xFFFE_E000, "", length: 0xFFFF_FFFF, explicitVR: false) + implicitItem.body
        unknown += DICOMBuilder.header(0xFFFE_E00D, "", length: 0, explicitVR: false)
        unknown += DICOMBuilder.header(0xFFFE_E0DD, "", length: 0, explicitVR: false)

        var builder = DICOMBuilder()
        builder.add(0x0008_1115, "SQ", undefinedLength: sequence)
        builder.add(0x0009_1010, "UN", undefinedLength: unknown)
        builder.image(rows: 2, columns: 3)
        builder.add(0x7FE0_0010, "OB", [0, 10, 20, 30, 40, 50])
        let image = try decodeImage(builder.file(), path: "nested.dcm")
        #expect(image.pixels == [0, 10, 20, 30, 40, 50])
    }

    @Test func readsABareDataSetWithoutPreamble() throws {
        var builder = DICOMBuilder()
        builder.explicitVR = false
        builder.image(rows: 1, columns: 2)
        builder.add(0x7FE0_0010, "OW", [7, 9])
        let image = try decodeImage(builder.body, path: "bare.dcm")
        #expect(image.pixels == [7, 9])
        #expect(throws: H5ToLiteError.self) { try decodeImage(builder.body, path: "bare.bin") }
    }

    @Test func windowWidthBelowOneFallsBackToMinMax() throws {
        var builder = DICOMBuilder()
        builder.image(rows: 1, columns: 3, bits: 16)
        builder.add(0x0028_1050, "DS", DICOMBuilder.text("100"))
        builder.add(0x0028_1051, "DS", DICOMBuilder.text("0.5"))
        builder.add(0x7FE0_0010, "OW", DICOMBuilder.uint16(10) + DICOMBuilder.uint16(20) + DICOMBuilder.uint16(30))
        #expect(try decodeImage(builder.file(), path: "w.dcm").pixels == [0, 127.5, 255])
    }

    @Test func voiFunctionsFollowTheStandard() throws {
        func window(_ function: String) throws -> Window? {
            var builder = DICOMBuilder()
            builder.add(0x0028_1050, "DS", DICOMBuilder.text("50"))
            builder.add(0x0028_1051, "DS", DICOMBuilder.text("20"))
            builder.add(0x0028_1056, "CS", DICOMBuilder.text(function))
            builder.add(0x7FE0_0010, "OB", [])
            return try Window(DICOMDataSet(builder.file()))
        }
        let exact = try #require(try window("LINEAR_EXACT"))
        #expect(exact.apply(40) == 0 && exact.apply(50) == 127.5 && exact.apply(60) == 255)
        let sigmoid = try #require(try window("SIGMOID"))
        #expect(sigmoid.apply(50) == 127.5)
        let linear = try #require(try window("LINEAR"))
        #expect(linear.apply(39.5) == 0 && linear.apply(59) == 255)
        #expect(throws: H5ToLiteError.self) { try window("CUBIC") }
    }
}
