import FuzzSupport
import H5ToLiteCore

/// A .npy array: header parsing, shape and size checks before allocation.

let fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32 = { data, size in
    _ = try? decodeNPY(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzNPY_main`; it hands control to libFuzzer.
@_cdecl("FuzzNPY_main")
public func FuzzNPYMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
