import CPNG
import H5ToLiteCore

/// Decodes a PNG with libpng: 1-, 2-, 4-, 8- and 16-bit gray, gray+alpha, RGB, RGBA
/// and palette images. 16-bit samples map to 0...255 by dividing by 257.
func decodePNG(_ bytes: [UInt8]) throws -> Image {
    var decoded = cpng_image()
    let status = bytes.withUnsafeBufferPointer {
        cpng_decode($0.baseAddress, $0.count, maxPixelCount, &decoded)
    }
    guard status == 1 else { throw H5ToLiteError("invalid PNG: \(cMessage(&decoded.message))") }
    defer { cpng_free(&decoded) }
    let count = Int(decoded.width) * Int(decoded.height) * Int(decoded.channels)
    let samples = UnsafeBufferPointer(start: decoded.pixels, count: count * Int(decoded.bytes_per_sample))
    let pixels: [Float]
    if decoded.bytes_per_sample == 2 {
        pixels = (0..<count).map { Float(UInt16(samples[2 * $0]) << 8 | UInt16(samples[2 * $0 + 1])) / 257 }
    } else {
        pixels = samples.map(Float.init)
    }
    return Image(width: Int(decoded.width), height: Int(decoded.height), channels: Int(decoded.channels), pixels: pixels)
}

/// A NUL-terminated message in a fixed-size C char array.
func cMessage<T>(_ tuple: inout T) -> String {
    withUnsafeBytes(of: &tuple) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
}
