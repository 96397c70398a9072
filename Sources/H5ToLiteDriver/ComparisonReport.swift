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
    public let outputs: [Float]

    enum CodingKeys: String, CodingKey {
        case name, bytes, gzipBytes, metric, change, perClassAUROC, top1Agreement, millisecondsPerImage
    }
}

public struct ComparisonReport: Encodable {
    public let model: String
    public let metric: String
    public let samples: Int
    public let classes: [String]
    public let rows: [VariantResult]

    public var markdown: String {
        let original = Double(rows.first?.bytes ?? 1)
        var lines = ["| variant | size | gzip size | size vs original | \(metric) | change | top-1 agreement | ms/image |",
                     "|---|---|---|---|---|---|---|---|"]
        for row in rows {
            let gzip = row.gzipBytes > 0 ? megabytes(row.gzipBytes) : "-"
            lines.append("| \(row.name) | \(megabytes(row.bytes)) | \(gzip) | \(String(format: "%.2fx", Double(row.bytes) / original)) | "
                         + "\(String(format: "%.4f", row.metric)) | \(String(format: "%+.4f", row.change)) | "
                         + "\(String(format: "%.1f%%", row.top1Agreement * 100)) | \(String(format: "%.2f", row.millisecondsPerImage)) |")
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

private func megabytes(_ bytes: Int) -> String {
    bytes >= 100_000 ? String(format: "%.2f MB", Double(bytes) / 1e6) : String(format: "%.1f KB", Double(bytes) / 1e3)
}
