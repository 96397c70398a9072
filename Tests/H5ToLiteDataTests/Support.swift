import Foundation
import H5ToLiteCore
@testable import H5ToLiteData

/// golden/images, written by scripts/make_images.py.
let samplesFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("golden/images")

func samplePath(_ name: String) -> String {
    samplesFolder.appendingPathComponent(name).path
}

/// A sample's expected pixels: NAME.npy beside NAME.EXT.
func expected(for sample: String) throws -> Tensor {
    let stem = sample.split(separator: ".").first.map(String.init) ?? sample
    return try readNPY(path: samplePath("\(stem).npy"))
}

func fixture(_ name: String) throws -> Tensor {
    try readNPY(path: samplePath(name))
}

func largestDifference(_ actual: [Float], _ expected: [Float]) -> Float {
    zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
}

/// The samples that decode exactly and those that go through a JPEG decoder, which may
/// differ from Pillow's by one level.
let exactSamples = [
    "png_gray8.png", "png_gray16.png", "png_rgb16.png", "png_gray1.png", "png_gray_alpha.png",
    "png_rgb.png", "png_rgba.png", "png_palette.png",
    "dicom_mono2_16bit_window.dcm", "dicom_mono1_8bit.dcm", "dicom_implicit", "dicom_rgb_planar.dcm",
]
let jpegSamples = ["jpeg_gray.jpg", "jpeg_rgb.jpg", "jpeg_progressive.jpeg", "dicom_jpeg_baseline.dcm"]

/// Builds DICOM files element by element: preamble, "DICM", the meta group and a data set.
struct DICOMBuilder {
    var explicitVR = true
    private(set) var body: [UInt8] = []

    static func uint16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func uint32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }

    static func text(_ value: String) -> [UInt8] {
        let bytes = Array(value.utf8)
        return bytes.count % 2 == 0 ? bytes : bytes + [0x20]
    }

    static func header(_ tag: UInt32, _ vr: String, length: UInt32, explicitVR: Bool) -> [UInt8] {
        let tagBytes = uint16(Int(tag >> 16)) + uint16(Int(tag & 0xFFFF))
        guard explicitVR && tag >> 16 != 0xFFFE else { return tagBytes + uint32(length) }
        if ["OB", "OW", "SQ", "UN", "UT"].contains(vr) {
            return tagBytes + Array(vr.utf8) + [0, 0] + uint32(length)
        }
        return tagBytes + Array(vr.utf8) + uint16(Int(length))
    }

    mutating func add(_ tag: UInt32, _ vr: String, _ value: [UInt8]) {
        body += Self.header(tag, vr, length: UInt32(value.count), explicitVR: explicitVR) + value
    }

    mutating func add(_ tag: UInt32, _ vr: String, undefinedLength content: [UInt8]) {
        body += Self.header(tag, vr, length: 0xFFFF_FFFF, explicitVR: explicitVR) + content
    }

    mutating func raw(_ bytes: [UInt8]) { body += bytes }

    /// A monochrome image header; pixel data is added separately.
    mutating func image(rows: Int, columns: Int, bits: Int = 8, photometric: String = "MONOCHROME2") {
        add(0x0028_0002, "US", Self.uint16(1))
        add(0x0028_0004, "CS", Self.text(photometric))
        add(0x0028_0010, "US", Self.uint16(rows))
        add(0x0028_0011, "US", Self.uint16(columns))
        add(0x0028_0100, "US", Self.uint16(bits))
        add(0x0028_0101, "US", Self.uint16(bits))
        add(0x0028_0103, "US", Self.uint16(0))
    }

    func file(transferSyntax: String = "1.2.840.10008.1.2.1") -> [UInt8] {
        var meta: [UInt8] = []
        let uid = Array(transferSyntax.utf8) + (transferSyntax.utf8.count % 2 == 1 ? [0] : [])
        meta += Self.header(0x0002_0010, "UI", length: UInt32(uid.count), explicitVR: true) + uid
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + meta + body
    }
}
