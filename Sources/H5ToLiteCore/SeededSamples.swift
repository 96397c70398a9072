import Foundation

/// Seeded standard-normal samples shaped `[count] + shape`, the same on every machine
/// (SplitMix64 and Box-Muller, no platform random source).
public func seededNormalSamples(shape: [Int], count: Int, seed: UInt64 = 0x5EED) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    func next() -> Double {
        (Double(generator.next() >> 11) + 0.5) / Double(1 << 53)
    }
    let total = count * shape.reduce(1, *)
    var data = [Float](repeating: 0, count: total)
    for index in data.indices {
        data[index] = Float((-2 * log(next())).squareRoot() * cos(2 * Double.pi * next()))
    }
    return Tensor(shape: [count] + shape, data: data)
}

/// Seeded samples for a model with inputs shaped `shapes` (each without the batch axis):
/// `count` samples per input, each input from its own seed so no two hold the same numbers;
/// the first input's are `seededNormalSamples(shape:count:)`'s own.
public func seededNormalInputs(shapes: [[Int]], count: Int) -> [Tensor] {
    shapes.enumerated().map { index, shape in seededNormalSamples(shape: shape, count: count, seed: 0x5EED + UInt64(index)) }
}

/// SplitMix64: a small deterministic generator, so seeded samples and the tests' damaged
/// files are the same on every machine and run.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
