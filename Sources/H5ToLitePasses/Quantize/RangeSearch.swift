import H5ToLiteIR

/// How `calibrate` turns what it saw of a value into the range quantize-int8 reads.
public enum CalibrationMethod: String, Sendable, CaseIterable {
    /// The smallest and largest value seen.
    case minmax
    /// The range, among min/max, a few percentiles and a clipping search, whose int8 grid
    /// gives the smallest mean squared error on the value's histogram. Model inputs and
    /// weights keep their full range: clipping them measured worse (README, "Calibration method").
    case mse
}

/// The range whose asymmetric int8 grid (zero exact, as `activationParameters` builds it)
/// makes the smallest squared error on `histogram`, among min/max (`observed`), the 0.01 %,
/// 0.1 % and 1 % tails cut off, and a coordinate search shrinking each end in turn.
/// Min/max wins ties: a clip must measure better to be kept.
func lowestErrorRange(_ histogram: Histogram, observed: ValueRange) -> ValueRange {
    // A bin's middle can lie past the extreme values it holds; the extremes are exact.
    let bins = histogram.bins.map { (value: min(max($0.value, Double(observed.min)), Double(observed.max)), count: $0.count) }
    guard !bins.isEmpty, observed.max > observed.min else { return observed }
    var best = observed
    var bestError = int8Error(bins, best)
    func consider(_ candidate: ValueRange) {
        let error = int8Error(bins, candidate)
        if error < bestError {
            best = candidate
            bestError = error
        }
    }
    for tail in [1e-4, 1e-3, 1e-2] {
        consider(ValueRange(min: min(quantile(bins, tail), 0), max: max(quantile(bins, 1 - tail), 0)))
    }
    // Each end shrinks towards zero on a grid of 1/256 steps while the other stays; twice
    // round, as the best end depends on the other through the shared scale.
    let fractions = (0..<240).map { 1 - Float($0) / 256 }
    var search = observed
    for _ in 0..<2 {
        search.max = lowest(fractions.map { Swift.max(observed.max, 0) * $0 }) { int8Error(bins, ValueRange(min: search.min, max: $0)) }
        search.min = lowest(fractions.map { Swift.min(observed.min, 0) * $0 }) { int8Error(bins, ValueRange(min: $0, max: search.max)) }
    }
    consider(search)
    return best
}

/// The first of `candidates` with the smallest `error`.
private func lowest(_ candidates: [Float], by error: (Float) -> Double) -> Float {
    var best = candidates[0]
    var bestError = error(best)
    for candidate in candidates.dropFirst() {
        let candidateError = error(candidate)
        if candidateError < bestError {
            best = candidate
            bestError = candidateError
        }
    }
    return best
}

/// Squared error of `bins` on the int8 grid of `range`: a value past the grid's ends is
/// clipped to them; one inside is rounded, which costs scale²/12 on average, or the value
/// itself squared when it is nearer zero (an exact grid point) than that.
func int8Error(_ bins: [(value: Double, count: Double)], _ range: ValueRange) -> Double {
    let parameters = activationParameters(range)
    let scale = Double(parameters.scales[0])
    let zeroPoint = Double(parameters.zeroPoints[0])
    let low = (-128 - zeroPoint) * scale
    let high = (127 - zeroPoint) * scale
    let rounding = scale * scale / 12
    var total = 0.0
    for (value, count) in bins {
        if value < low {
            total += count * (value - low) * (value - low)
        } else if value > high {
            total += count * (value - high) * (value - high)
        } else {
            total += count * Swift.min(value * value, rounding)
        }
    }
    return total
}

/// The value below which a fraction `fraction` of the elements lie.
private func quantile(_ bins: [(value: Double, count: Double)], _ fraction: Double) -> Float {
    let total = bins.reduce(0) { $0 + $1.count }
    var seen = 0.0
    for (value, count) in bins {
        seen += count
        if seen >= fraction * total { return Float(value) }
    }
    return Float(bins.last!.value)
}
