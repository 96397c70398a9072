import ArgumentParser
import H5ToLitePasses

extension PruningScope: ExpressibleByArgument {}

extension QuantizationMode: ExpressibleByArgument {}
