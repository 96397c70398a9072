import H5ToLiteKeras

/// A Keras model config (JSON): the JSON reader and the config decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    try? checkModelConfig(text)
    return 0
}
