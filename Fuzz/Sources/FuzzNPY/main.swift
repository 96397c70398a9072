import H5ToLiteInterpreter

/// A .npy array: header parsing, shape and size checks before allocation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? decodeNPY(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
