import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
@testable import H5ToLiteKeras

/// The bytes a reading child process hands its parent: the model survives the trip whole, and
/// damaged bytes are an error, never a crash.
@Suite struct KerasModelTransferTests {
    @Test(arguments: ["keras3.h5", "tfkeras.h5", "model.keras"])
    func modelSurvivesTheTrip(file: String) throws {
        let path = goldenModel("chexnet_nested", file)
        let model = try loadKerasModel(path: path)
        let copy = try decodeKerasModel(encodeKerasModel(model), file: path)
        #expect(copy.format == model.format && copy.kerasVersion == model.kerasVersion && copy.configText == model.configText)
        #expect(copy.weights.keys.sorted() == model.weights.keys.sorted())
        for (key, arrays) in model.weights {
            #expect(copy.weights[key]!.map(\.values) == arrays.map(\.values), "\(key)")
            #expect(copy.weights[key]!.map(\.shape) == arrays.map(\.shape), "\(key)")
        }
        #expect(try importKeras(copy) == importKeras(model))
    }

    @Test func damagedBytesAreErrors() throws {
        let bytes = encodeKerasModel(try loadKerasModel(path: goldenModel("layers_conv", "keras3.h5")))
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: H5ToLiteError.self) { try decodeKerasModel(Array(bytes[..<cut]), file: "x.h5") }
        }
        var huge = bytes
        // The first array's rank field follows the first key and name; make every Int64 dim enormous.
        for index in stride(from: 8, to: min(huge.count, 4000), by: 1) where index % 8 == 0 { huge[index] = 0x7F }
        _ = try? decodeKerasModel(huge, file: "x.h5")
    }
}
