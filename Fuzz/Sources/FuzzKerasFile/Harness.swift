import FuzzSupport
import Foundation
import H5ToLiteIR
import H5ToLiteKeras

/// A whole .h5 or .keras file through the HDF5 and zip layers and the importer. libhdf5's
/// own crashes show up here; h5tolite survives them by reading in a child process first.

let fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32 = { data, size in
    let path = NSTemporaryDirectory() + "h5tolite-fuzz-\(getpid())"
    FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    defer { try? FileManager.default.removeItem(atPath: path) }
    if let model = try? loadKerasModel(path: path) {
        _ = try? importKeras(model)
    }
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzKerasFile_main`; it hands control to libFuzzer.
@_cdecl("FuzzKerasFile_main")
public func FuzzKerasFileMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzz)
}
