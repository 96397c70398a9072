import FuzzSupport
import H5ToLiteData

/// A PNG, JPEG or DICOM file, told apart by content as `loadImage` does; the first byte picks
/// the name's extension so that bare DICOM data sets (no preamble, known by `.dcm`) are reached too.

let fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32 = { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let path = bytes.first.map { $0 & 1 == 0 ? "fuzz.dcm" : "fuzz.img" } ?? "fuzz.img"
    _ = try? decodeImage(bytes, path: path)
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzImage_main`; it hands control to libFuzzer.
@_cdecl("FuzzImage_main")
public func FuzzImageMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
