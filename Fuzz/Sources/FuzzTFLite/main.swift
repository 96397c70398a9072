import H5ToLiteInterpreter
import H5ToLiteTFLite

/// A .tflite file: the bounds-checked reader, then the interpreter's own checks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let graph = try? readTFLite(bytes: bytes, name: "fuzz") {
        _ = try? Interpreter(graph: graph, threads: 1)
    }
    _ = try? summarizeTFLite(bytes: bytes)
    return 0
}
