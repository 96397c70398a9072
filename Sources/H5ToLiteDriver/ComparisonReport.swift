import Foundation

/// One row of the comparison table.
public struct VariantResult: Encodable {
    public let name: String
    public let bytes: Int
    public let gzipBytes: Int
    public let metric: Double
    public let change: Double
    public let perClassAUROC: [Double]
    public let top1Agreement: Double
    public let millisecondsPerImage: Double
    /// Multiply-adds of one inference (convolutions, dense layers, matrix products).
    public let multiplyAdds: Int
    /// With several model outputs: each output's mean absolute error against the original's,
    /// in the model's output order (nil in the original's own row).
    public let outputErrors: [Double]?
    /// Every model output on every sample, flattened, in the model's output order.
    public let outputs: [[Float]]

    enum CodingKeys: String, CodingKey {
        case name, bytes, gzipBytes, metric, change, perClassAUROC, top1Agreement, millisecondsPerImage, multiplyAdds, outputErrors
    }
}

public struct ComparisonReport: Encodable {
    public let model: String
    public let metric: String
    public let samples: Int
    public let classes: [String]
    /// With several model outputs: their names in the model's order, each given an error
    /// column, and the one the labels score; nil for a model with one output.
    public let outputs: [String]?
    public let labelledOutput: String?
    public let rows: [VariantResult]

    public var markdown: String {
        let original = Double(rows.first?.bytes ?? 1)
        let errorColumns = (outputs ?? []).map { " \($0) mean abs error |" }.joined()
        let scored = labelledOutput.map { "\(metric) of \($0)" } ?? metric
        var lines = ["| variant | size | gzip size | size vs original | \(scored) | change | top-1 agreement | ms/image | multiply-adds |" + errorColumns,
                     "|---|---|---|---|---|---|---|---|---|" + String(repeating: "---|", count: outputs?.count ?? 0)]
        for row in rows {
            let gzip = row.gzipBytes > 0 ? megabytes(row.gzipBytes) : "-"
            let errors = (outputs ?? []).indices.map { index in row.outputErrors.map { String(format: " %.3g |", $0[index]) } ?? " - |" }
            lines.append("| \(row.name) | \(megabytes(row.bytes)) | \(gzip) | \(String(format: "%.2fx", Double(row.bytes) / original)) | "
                         + "\(String(format: "%.4f", row.metric)) | \(String(format: "%+.4f", row.change)) | "
                         + "\(String(format: "%.1f%%", row.top1Agreement * 100)) | \(String(format: "%.2f", row.millisecondsPerImage)) | "
                         + "\(millions(row.multiplyAdds)) |"
                         + errors.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

private func millions(_ count: Int) -> String {
    String(format: "%.2f M", Double(count) / 1e6)
}

private func megabytes(_ bytes: Int) -> String {
    bytes >= 100_000 ? String(format: "%.2f MB", Double(bytes) / 1e6) : String(format: "%.1f KB", Double(bytes) / 1e3)
}
