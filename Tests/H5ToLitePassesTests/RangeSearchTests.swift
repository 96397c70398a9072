import Foundation
import Testing
import H5ToLiteCore
import H5ToLiteIR
@testable import H5ToLitePasses

/// `--calibration-method mse`: the histogram is order-free, and the range search finds the
/// clip a brute-force search over the raw values finds, with the int8 arithmetic written
/// out here independently of the pass.
@Suite struct RangeSearchTests {
    @Test func histogramCountsAreTheSameInAnyOrderAndSplit() {
        let values = samples(count: 5000, seed: 1) { normal(&$0) }
        var split = Histogram()
        for chunk in stride(from: 0, to: values.count, by: 700).reversed() {
            split.add(Histogram(Array(values[chunk..<min(chunk + 700, values.count)]).reversed()))
        }
        #expect(split == Histogram(values))
        #expect(Histogram(values).bins.reduce(0) { $0 + $1.count } == Double(values.count))
    }

    @Test(arguments: Distribution.allCases)
    func searchMatchesBruteForceOnTheValues(distribution: Distribution) {
        let values = distribution.values()
        let observed = ValueRange(min: values.min()!, max: values.max()!)
        let chosen = lowestErrorRange(Histogram(values), observed: observed)
        let best = bruteForceLowestError(values, observed)
        // The search scores a histogram (bins 1/32 of a power of two wide) with an average
        // rounding cost, the brute force the exact values: they agree to a few percent.
        #expect(int8SquaredError(values, chosen) <= 1.03 * best)
        #expect(chosen.min >= observed.min && chosen.max <= observed.max)
        // Clipping a few far outliers (normalWithOutliers) is where the estimate misjudges
        // most: within 1 % of min/max's exact error there.
        #expect(int8SquaredError(values, chosen) <= 1.01 * int8SquaredError(values, observed))
        if distribution == .laplace || distribution == .reluOfNormal {
            #expect(int8SquaredError(values, chosen) < int8SquaredError(values, observed))
        }
    }

    @Test func uniformValuesKeepNearlyTheirWholeRange() {
        let values = samples(count: 4000, seed: 3) { Float.random(in: -1...3, using: &$0) }
        let chosen = lowestErrorRange(Histogram(values), observed: ValueRange(min: values.min()!, max: values.max()!))
        #expect(chosen.max >= 0.95 * values.max()! && chosen.min <= 0.95 * values.min()!)
    }

    enum Distribution: CaseIterable {
        case laplace, reluOfNormal, normalWithOutliers, uniform

        func values() -> [Float] {
            switch self {
            case .laplace:
                return samples(count: 4000, seed: 10) { generator in
                    let u = Float.random(in: -0.4999...0.4999, using: &generator)
                    return 0.5 - (u < 0 ? -1 : 1) * log(1 - 2 * abs(u))
                }
            case .reluOfNormal:
                return samples(count: 4000, seed: 11) { max(0, normal(&$0)) }
            case .normalWithOutliers:
                return samples(count: 4000, seed: 12) { generator in
                    Float.random(in: 0..<1, using: &generator) < 0.002 ? 12 * normal(&generator) : normal(&generator)
                }
            case .uniform:
                return samples(count: 4000, seed: 13) { Float.random(in: -2...1, using: &$0) }
            }
        }
    }
}

private func samples(count: Int, seed: UInt64, _ make: (inout SeededGenerator) -> Float) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in make(&generator) }
}

/// Box-Muller.
private func normal(_ generator: inout SeededGenerator) -> Float {
    let u = Float.random(in: Float.ulpOfOne..<1, using: &generator)
    let v = Float.random(in: 0..<1, using: &generator)
    return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
}

/// Squared error of `values` quantized to TFLite's asymmetric int8 grid for `range` (widened
/// to hold zero, zero point rounded so that zero is exact) and back.
private func int8SquaredError(_ values: [Float], _ range: ValueRange) -> Double {
    let low = Double(min(range.min, 0)), high = Double(max(range.max, 0))
    let scale = (high - low) / 255
    let zeroPoint = min(127, max(-128, (-128 - low / scale).rounded()))
    return values.reduce(0) { total, value in
        let level = min(127, max(-128, (Double(value) / scale).rounded() + zeroPoint))
        let restored = (level - zeroPoint) * scale
        return total + (Double(value) - restored) * (Double(value) - restored)
    }
}

/// The smallest error over ranges whose ends are whole percents of the observed ends.
private func bruteForceLowestError(_ values: [Float], _ observed: ValueRange) -> Double {
    let fractions = (30...100).map { Float($0) / 100 }
    var best = Double.infinity
    for lowFraction in observed.min < 0 ? fractions : [1] {
        for highFraction in observed.max > 0 ? fractions : [1] {
            let range = ValueRange(min: observed.min * lowFraction, max: observed.max * highFraction)
            best = min(best, int8SquaredError(values, range))
        }
    }
    return best
}
