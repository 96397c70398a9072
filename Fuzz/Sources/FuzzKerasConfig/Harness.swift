import FuzzSupport
import H5ToLiteKeras

/// A Keras model config (JSON): the JSON reader and the config decoder.

let fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32 = { data, size in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    try? checkModelConfig(text)
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzKerasConfig_main`; it hands control to libFuzzer.
@_cdecl("FuzzKerasConfig_main")
public func FuzzKerasConfigMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
