import Foundation
import H5ToLiteCore

/// Labels for evaluation: one row per sample, one column per class, and the file each
/// row's image lives in when the labels came from a CSV.
public struct LabelTable: Sendable {
    public var classes: [String]
    public var rows: [[Float]]
    public var images: [String]

    public init(classes: [String], rows: [[Float]], images: [String]) {
        self.classes = classes
        self.rows = rows
        self.images = images
    }

    public var flat: [Float] { rows.flatMap { $0 } }
}

/// Reads labels from CSV in the layouts the original work used:
/// - one image column followed by one 0/1 column per finding (the first column is the image);
/// - ChestX-ray14's `Data_Entry` layout: `Image Index` and `Finding Labels` ("Effusion|Mass",
///   "No Finding"); the classes are the findings that occur, sorted;
/// - RSNA Pneumonia's `stage_2_train_labels.csv`: `patientId` and `Target`, several rows per
///   patient (one per box); a patient is positive if any row is; images are `<patientId>.dcm`.
public func readLabelCSV(path: String) throws -> LabelTable {
    let text: String
    do {
        text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw H5ToLiteError(file: path, "cannot read (\(error.localizedDescription))")
    }
    let records = parseCSV(text)
    guard let header = records.first, records.count > 1 else { throw H5ToLiteError(file: path, "no header and rows") }
    let body = records.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }
    if let patient = header.firstIndex(of: "patientId"), let target = header.firstIndex(of: "Target") {
        return try rsnaLayout(body, patient: patient, target: target, path: path)
    }
    if let image = header.firstIndex(of: "Image Index"), let findings = header.firstIndex(of: "Finding Labels") {
        return try findingLabelsLayout(body, image: image, findings: findings, path: path)
    }
    return try columnsLayout(body, header: header, path: path)
}

private func cell(_ record: [String], _ index: Int, path: String, row: Int) throws -> String {
    guard index < record.count else { throw H5ToLiteError(file: path, "row \(row + 2) has \(record.count) fields, expected more") }
    return record[index]
}

private func columnsLayout(_ body: [[String]], header: [String], path: String) throws -> LabelTable {
    guard header.count >= 2 else { throw H5ToLiteError(file: path, "needs an image column and at least one label column") }
    var rows: [[Float]] = []
    var images: [String] = []
    for (row, record) in body.enumerated() {
        images.append(try cell(record, 0, path: path, row: row))
        rows.append(try (1..<header.count).map { column in
            let text = try cell(record, column, path: path, row: row)
            guard let value = Float(text.trimmingCharacters(in: .whitespaces)) else {
                throw H5ToLiteError(file: path, "row \(row + 2), column '\(header[column])': '\(text)' is not a number")
            }
            return value
        })
    }
    return LabelTable(classes: Array(header.dropFirst()), rows: rows, images: images)
}

private func findingLabelsLayout(_ body: [[String]], image: Int, findings: Int, path: String) throws -> LabelTable {
    var perImage: [(String, Set<String>)] = []
    for (row, record) in body.enumerated() {
        let names = try cell(record, findings, path: path, row: row).split(separator: "|").map(String.init)
        perImage.append((try cell(record, image, path: path, row: row), Set(names).subtracting(["No Finding"])))
    }
    let classes = Set(perImage.flatMap { $0.1 }).sorted()
    return LabelTable(classes: classes, rows: perImage.map { _, present in classes.map { present.contains($0) ? 1 : 0 } },
                      images: perImage.map { $0.0 })
}

private func rsnaLayout(_ body: [[String]], patient: Int, target: Int, path: String) throws -> LabelTable {
    var order: [String] = []
    var positive: [String: Bool] = [:]
    for (row, record) in body.enumerated() {
        let id = try cell(record, patient, path: path, row: row)
        let value = try cell(record, target, path: path, row: row)
        if positive[id] == nil { order.append(id) }
        positive[id] = (positive[id] ?? false) || value == "1"
    }
    return LabelTable(classes: ["Pneumonia"], rows: order.map { [positive[$0]! ? 1 : 0] }, images: order.map { "\($0).dcm" })
}

/// RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes.
func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var quoted = false
    func handle(_ char: Character) {
        switch char {
        case "\"": quoted = true
        case ",": record.append(field); field = ""
        case "\n", "\r\n": record.append(field); field = ""; records.append(record); record = []
        case "\r": break
        default: field.append(char)
        }
    }
    var iterator = text.makeIterator()
    while let char = iterator.next() {
        if quoted {
            if char == "\"" {
                if let next = iterator.next() {
                    if next == "\"" { field.append("\"") } else {
                        quoted = false
                        handle(next)
                    }
                } else {
                    quoted = false
                }
            } else {
                field.append(char)
            }
        } else {
            handle(char)
        }
    }
    if !field.isEmpty || !record.isEmpty {
        record.append(field)
        records.append(record)
    }
    return records
}
