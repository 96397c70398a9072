import Foundation
import H5ToLiteCore

/// A decoded image: `channels` (1 = gray, 3 = RGB) interleaved samples per pixel,
/// rows top to bottom, every sample on the 0...255 scale of an 8-bit image.
///
/// How sources reach that scale:
/// - 8-bit PNG and JPEG samples are taken as they are;
/// - 16-bit PNG samples are divided by 257 (65535 → 255), unrounded;
/// - DICOM follows the standard's display pipeline, see `decodeDICOM`.
/// Alpha channels are dropped (as `tf.io.decode_image(channels: 3)` and PIL's
/// `convert("RGB")` do), palettes expand to RGB.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(width * height * channels == pixels.count, "\(width)x\(height)x\(channels) image cannot hold \(pixels.count) samples")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// The most pixels (width x height) an image may declare: 64 Mi, seven times a
/// 3000 x 3000 chest film and above any mammogram, so that a hostile header
/// cannot make the loader allocate gigabytes.
let maxPixelCount = 1 << 26

/// Reads a PNG, JPEG or DICOM file, recognised by its content: the PNG signature,
/// the JPEG start-of-image marker, or "DICM" after DICOM's 128-byte preamble. A
/// `.dcm` file without the preamble is read as a bare DICOM data set.
public func loadImage(path: String) throws -> Image {
    let bytes: [UInt8]
    do {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        throw H5ToLiteError(file: path, "cannot read the file: \((error as NSError).localizedDescription)")
    }
    return try decodeImage(bytes, path: path)
}

/// Decodes a file's bytes; `path` picks DICOM for a `.dcm` file without preamble and
/// starts every error message.
public func decodeImage(_ bytes: [UInt8], path: String) throws -> Image {
    do {
        switch ImageFormat(of: bytes, path: path) {
        case .png: return try decodePNG(bytes)
        case .jpeg: return try decodeJPEG(bytes)
        case .dicom: return try decodeDICOM(bytes)
        case nil: throw H5ToLiteError("not a PNG, JPEG or DICOM file")
        }
    } catch let error as H5ToLiteError {
        throw error.inFile(path)
    }
}

enum ImageFormat {
    case png, jpeg, dicom

    init?(of bytes: [UInt8], path: String) {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if hasDICOMPreamble(bytes) || URL(fileURLWithPath: path).pathExtension.lowercased() == "dcm" {
            self = .dicom
        } else {
            return nil
        }
    }
}

func hasDICOMPreamble(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)
}
