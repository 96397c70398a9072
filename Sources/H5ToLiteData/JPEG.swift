import CJPEG
import H5ToLiteCore

/// Decodes a baseline or progressive 8-bit JPEG with libjpeg-turbo into gray (one
/// component) or RGB (three). Data that libjpeg would only warn about, such as a
/// truncated file, is an error: a half-gray image must not reach calibration.
func decodeJPEG(_ bytes: [UInt8]) throws -> Image {
    var decoded = cjpeg_image()
    let status = bytes.withUnsafeBufferPointer {
        cjpeg_decode($0.baseAddress, UInt($0.count), maxPixelCount, &decoded)
    }
    guard status == 1 else { throw H5ToLiteError("invalid JPEG: \(cMessage(&decoded.message))") }
    defer { cjpeg_free(&decoded) }
    let count = Int(decoded.width) * Int(decoded.height) * Int(decoded.channels)
    let pixels = UnsafeBufferPointer(start: decoded.pixels, count: count).map(Float.init)
    return Image(width: Int(decoded.width), height: Int(decoded.height), channels: Int(decoded.channels), pixels: pixels)
}
