import Foundation
import Testing
import H5ToLiteCore
@testable import H5ToLiteEvaluation

/// Expected values computed by scikit-learn (make_fixtures.py), ties included.
struct Fixtures: Decodable {
    struct AUROCCase: Decodable { let scores: [Float]; let labels: [Int]; let auroc: Double }
    struct AccuracyCase: Decodable { let outputs: [Float]; let labels: [Float]; let accuracy: Double }
    let auroc: [AUROCCase]
    let accuracy: AccuracyCase

    static func load() throws -> Fixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("sklearn_fixtures.json")
        return try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }
}

@Suite struct MetricTests {
    @Test func aurocMatchesScikitLearnWithTies() throws {
        for fixture in try Fixtures.load().auroc {
            let value = try #require(auroc(scores: fixture.scores, labels: fixture.labels.map { $0 == 1 }))
            #expect(abs(value - fixture.auroc) < 1e-12)
        }
    }

    @Test func aurocIsUndefinedForOneClass() {
        #expect(auroc(scores: [0.1, 0.9], labels: [true, true]) == nil)
    }

    @Test func accuracyMatchesScikitLearn() throws {
        let fixture = try Fixtures.load().accuracy
        #expect(abs(accuracy(outputs: fixture.outputs, labels: fixture.labels, classes: 4) - fixture.accuracy) < 1e-12)
    }

    @Test func perClassAUROCSplitsColumns() {
        // Column 0 ranks perfectly, column 1 perfectly backwards, column 2 has one class only.
        let outputs: [Float] = [0.9, 0.1, 0.5, 0.2, 0.8, 0.5]
        let labels: [Float] = [1, 1, 1, 0, 0, 1]
        let values = perClassAUROC(outputs: outputs, labels: labels, classes: 3)
        #expect(values[0] == 1 && values[1] == 0 && values[2] == nil)
        #expect(meanDefined(values) == 0.5)
    }
}

@Suite struct LabelTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID()).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func columnLayout() throws {
        let table = try readLabelCSV(path: try write("Image Index,Effusion,Mass\na.png,1,0\n\"b,c.png\",0,1\n"))
        #expect(table.classes == ["Effusion", "Mass"])
        #expect(table.images == ["a.png", "b,c.png"])
        #expect(table.rows == [[1, 0], [0, 1]])
    }

    @Test func chestXray14DataEntryLayout() throws {
        let text = "Image Index,Finding Labels,Follow-up #\n1.png,Effusion|Mass,0\n2.png,No Finding,0\n3.png,Mass,1\n"
        let table = try readLabelCSV(path: try write(text))
        #expect(table.classes == ["Effusion", "Mass"])
        #expect(table.rows == [[1, 1], [0, 0], [0, 1]])
    }

    @Test func rsnaLayoutMergesBoxes() throws {
        let text = "patientId,x,y,width,height,Target\np1,,,,,0\np2,10,20,30,40,1\np2,50,60,70,80,1\n"
        let table = try readLabelCSV(path: try write(text))
        #expect(table.images == ["p1.dcm", "p2.dcm"])
        #expect(table.rows == [[0], [1]])
    }

    @Test func badNumberNamesRowAndColumn() throws {
        let path = try write("image,Mass\na.png,yes\n")
        #expect(throws: H5ToLiteError.self) { try readLabelCSV(path: path) }
        do { _ = try readLabelCSV(path: path) } catch { #expect("\(error)".contains("row 2, column 'Mass'")) }
    }
}
