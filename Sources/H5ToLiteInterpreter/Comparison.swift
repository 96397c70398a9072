import Foundation

/// How far one model's outputs are from another's on the same samples.
public struct OutputComparison: Sendable {
    public var maxAbsoluteError: Double
    public var meanAbsoluteError: Double
    /// Cosine similarity of the two outputs, flattened.
    public var cosineSimilarity: Double
    /// Fraction of samples whose largest output (the top-1 class) is the same.
    public var top1Agreement: Double
    public var samples: Int

    public init(reference: Tensor, candidate: Tensor) {
        precondition(reference.data.count == candidate.data.count, "outputs of different sizes")
        var maxError = 0.0, totalError = 0.0, dot = 0.0, normA = 0.0, normB = 0.0
        for (a, b) in zip(reference.data, candidate.data) {
            let (x, y) = (Double(a), Double(b))
            maxError = max(maxError, abs(x - y))
            totalError += abs(x - y)
            dot += x * y
            normA += x * x
            normB += y * y
        }
        let count = max(reference.data.count, 1)
        maxAbsoluteError = maxError
        meanAbsoluteError = totalError / Double(count)
        cosineSimilarity = normA == 0 && normB == 0 ? 1 : dot / max((normA * normB).squareRoot(), .leastNormalMagnitude)
        samples = reference.shape.first ?? 1
        let classes = max(reference.data.count / max(samples, 1), 1)
        var agree = 0
        for sample in 0..<samples {
            let range = sample * classes..<(sample + 1) * classes
            if argmax(reference.data[range]) == argmax(candidate.data[range]) { agree += 1 }
        }
        top1Agreement = Double(agree) / Double(max(samples, 1))
    }
}

private func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for index in values.indices where values[index] > values[best] { best = index }
    return best
}

/// Seeded standard-normal samples shaped `[count] + shape`, the same on every machine
/// (SplitMix64 and Box-Muller, no platform random source).
public func seededNormalSamples(shape: [Int], count: Int, seed: UInt64 = 0x5EED) -> Tensor {
    var state = seed
    func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / Double(1 << 53)
    }
    let total = count * shape.reduce(1, *)
    var data = [Float](repeating: 0, count: total)
    for index in data.indices {
        data[index] = Float((-2 * log(next())).squareRoot() * cos(2 * Double.pi * next()))
    }
    return Tensor(shape: [count] + shape, data: data)
}
