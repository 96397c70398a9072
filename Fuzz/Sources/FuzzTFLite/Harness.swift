import FuzzSupport
import H5ToLiteInterpreter
import H5ToLiteTFLite

/// A .tflite file: the bounds-checked reader, then the interpreter's own checks, the summary
/// `inspect` prints and the TFLite metadata with its appended ZIP archive.

let fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32 = { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let graph = try? readTFLite(bytes: bytes, name: "fuzz") {
        _ = try? Interpreter(graph: graph, threads: 1)
    }
    _ = try? summarizeTFLite(bytes: bytes)
    _ = try? readMetadata(bytes: bytes)
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzTFLite_main`; it hands control to libFuzzer.
@_cdecl("FuzzTFLite_main")
public func FuzzTFLiteMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
