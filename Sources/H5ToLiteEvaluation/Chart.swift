import Foundation

/// One point of the size-versus-metric chart.
public struct ChartPoint: Sendable {
    public var label: String
    public var sizeMB: Double
    public var metric: Double

    public init(label: String, sizeMB: Double, metric: Double) {
        self.label = label
        self.sizeMB = sizeMB
        self.metric = metric
    }
}

/// A scatter chart (file size against the metric, one labelled point per variant) as SVG,
/// which every browser and document tool shows without extra software.
public func sizeMetricChart(_ points: [ChartPoint], metricName: String, title: String) -> String {
    let (width, height, margin) = (640.0, 420.0, 60.0)
    let sizes = points.map(\.sizeMB), metrics = points.map(\.metric)
    let xMax = (sizes.max() ?? 1) * 1.1
    let yLow = min(metrics.min() ?? 0, (metrics.max() ?? 1) - 0.01), yHigh = metrics.max() ?? 1
    let ySpan = max(yHigh - yLow, 1e-6)
    func x(_ value: Double) -> Double { margin + value / xMax * (width - 2 * margin) }
    func y(_ value: Double) -> Double { height - margin - (value - yLow) / ySpan * (height - 2 * margin) * 0.9 }
    var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">",
               "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
               "<text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>",
               line(margin, height - margin, width - margin, height - margin), line(margin, margin / 2, margin, height - margin),
               "<text x=\"\(width / 2)\" y=\"\(height - 18)\" text-anchor=\"middle\">file size (MB)</text>",
               "<text x=\"16\" y=\"\(height / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(height / 2))\">\(escape(metricName))</text>"]
    for tick in 0...4 {
        let value = xMax * Double(tick) / 4
        svg.append("<text x=\"\(x(value))\" y=\"\(height - margin + 16)\" text-anchor=\"middle\">\(String(format: "%.2f", value))</text>")
        let metric = yLow + ySpan * Double(tick) / 4
        svg.append("<text x=\"\(margin - 6)\" y=\"\(y(metric) + 4)\" text-anchor=\"end\">\(String(format: "%.3f", metric))</text>")
    }
    for point in points {
        svg.append("<circle cx=\"\(x(point.sizeMB))\" cy=\"\(y(point.metric))\" r=\"5\" fill=\"#1f77b4\"/>")
        svg.append("<text x=\"\(x(point.sizeMB) + 8)\" y=\"\(y(point.metric) - 6)\">\(escape(point.label))</text>")
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
}

private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double) -> String {
    "<line x1=\"\(x1)\" y1=\"\(y1)\" x2=\"\(x2)\" y2=\"\(y2)\" stroke=\"black\"/>"
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}
