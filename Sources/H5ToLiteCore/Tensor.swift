/// A dense float32 tensor in row-major order: interpreter inputs and outputs,
/// and the contents of .npy files.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }
}

extension Array where Element == Tensor {
    /// How many samples a model's inputs hold (one tensor per input, batch first): the first
    /// axis, which every input shares.
    public var sampleCount: Int {
        first?.shape.first ?? 0
    }
}
