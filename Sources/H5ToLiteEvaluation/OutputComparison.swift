/// How far one model's outputs are from another's on the same samples (`--verify`).
public struct OutputComparison: Sendable {
    public var maxAbsoluteError: Double
    public var meanAbsoluteError: Double
    /// Cosine similarity of the two outputs, flattened.
    public var cosineSimilarity: Double
    /// Fraction of samples whose largest output (the top-1 class) is the same.
    public var top1Agreement: Double
    public var samples: Int

    /// `reference` and `candidate` hold `samples` rows of equal length, row-major.
    public init(reference: [Float], candidate: [Float], samples: Int) {
        precondition(reference.count == candidate.count, "outputs of different sizes")
        var maxError = 0.0, totalError = 0.0, dot = 0.0, normA = 0.0, normB = 0.0
        for (a, b) in zip(reference, candidate) {
            let (x, y) = (Double(a), Double(b))
            maxError = max(maxError, abs(x - y))
            totalError += abs(x - y)
            dot += x * y
            normA += x * x
            normB += y * y
        }
        maxAbsoluteError = maxError
        meanAbsoluteError = totalError / Double(max(reference.count, 1))
        cosineSimilarity = normA == 0 && normB == 0 ? 1 : dot / max((normA * normB).squareRoot(), .leastNormalMagnitude)
        self.samples = samples
        top1Agreement = H5ToLiteEvaluation.top1Agreement(reference, candidate, classes: max(reference.count / max(samples, 1), 1))
    }
}
