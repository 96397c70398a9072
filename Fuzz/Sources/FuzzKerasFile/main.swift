import Foundation
import H5ToLiteIR
import H5ToLiteKeras

/// A whole .h5 or .keras file through the HDF5 and zip layers and the importer. libhdf5's
/// own crashes show up here; h5tolite survives them by reading in a child process first.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = NSTemporaryDirectory() + "h5tolite-fuzz-\(getpid())"
    FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
    defer { try? FileManager.default.removeItem(atPath: path) }
    if let model = try? loadKerasModel(path: path) {
        _ = try? importKeras(model)
    }
    return 0
}
