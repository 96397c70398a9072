import ArgumentParser
import H5ToLiteData
import H5ToLiteIR
import H5ToLitePasses

extension Preprocessing: ExpressibleByArgument {}
extension PruningScope: ExpressibleByArgument {}
extension PruningRecovery: ExpressibleByArgument {}

extension QuantizationMode: ExpressibleByArgument {}
extension CalibrationMethod: ExpressibleByArgument {}

/// `--io`: the element type of an int8 model's input and output tensors.
enum IOType: String, ExpressibleByArgument, CaseIterable {
    case float32, int8, uint8

    var dtype: DType {
        switch self {
        case .float32: return .float32
        case .int8: return .int8
        case .uint8: return .uint8
        }
    }
}
