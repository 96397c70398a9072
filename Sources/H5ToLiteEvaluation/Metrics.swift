/// Area under the ROC curve of `scores` against binary `labels`, with tied scores counted
/// as half (the Mann-Whitney statistic, as scikit-learn's roc_auc_score computes it).
/// Nil when only one class is present, where AUROC is undefined.
public func auroc(scores: [Float], labels: [Bool]) -> Double? {
    precondition(scores.count == labels.count, "scores and labels differ in length")
    let positives = labels.filter { $0 }.count
    let negatives = labels.count - positives
    guard positives > 0, negatives > 0 else { return nil }
    let order = scores.indices.sorted { scores[$0] < scores[$1] }
    // Average ranks (1-based) over runs of equal scores.
    var rankSumOfPositives = 0.0
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
        let averageRank = Double(start + end + 2) / 2
        for position in start...end where labels[order[position]] {
            rankSumOfPositives += averageRank
        }
        start = end + 1
    }
    let u = rankSumOfPositives - Double(positives) * Double(positives + 1) / 2
    return u / (Double(positives) * Double(negatives))
}

/// Per-class AUROC of multi-label outputs [N, C] against multi-hot labels [N, C];
/// classes with a single label value give nil.
public func perClassAUROC(outputs: [Float], labels: [Float], classes: Int) -> [Double?] {
    let samples = classes > 0 ? outputs.count / classes : 0
    return (0..<classes).map { c in
        auroc(scores: (0..<samples).map { outputs[$0 * classes + c] },
              labels: (0..<samples).map { labels[$0 * classes + c] >= 0.5 })
    }
}

/// Mean of the defined per-class values.
public func meanDefined(_ values: [Double?]) -> Double? {
    let defined = values.compactMap { $0 }
    return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
}

/// Fraction of samples whose predicted class is the labelled one: argmax for several
/// classes, a 0.5 threshold for a single sigmoid output. Labels are one-hot (or a single 0/1).
public func accuracy(outputs: [Float], labels: [Float], classes: Int) -> Double {
    let samples = classes > 0 ? outputs.count / classes : 0
    guard samples > 0 else { return 0 }
    var correct = 0
    for sample in 0..<samples {
        let range = sample * classes..<(sample + 1) * classes
        if classes == 1 {
            correct += (outputs[sample] >= 0.5) == (labels[sample] >= 0.5) ? 1 : 0
        } else if argmax(outputs[range]) == argmax(labels[range]) {
            correct += 1
        }
    }
    return Double(correct) / Double(samples)
}

/// Fraction of samples where two models pick the same top class.
public func top1Agreement(_ a: [Float], _ b: [Float], classes: Int) -> Double {
    let samples = classes > 0 ? a.count / classes : 0
    guard samples > 0 else { return 1 }
    let same = (0..<samples).filter { sample in
        let range = sample * classes..<(sample + 1) * classes
        return argmax(a[range]) == argmax(b[range])
    }.count
    return Double(same) / Double(samples)
}

func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for index in values.indices where values[index] > values[best] { best = index }
    return best - values.startIndex
}
