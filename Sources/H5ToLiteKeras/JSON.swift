import Foundation
import H5ToLiteIR

/// A parsed JSON document (Keras stores model configs as JSON text).
enum JSON: Decodable, Equatable, Sendable {
    case object([String: JSON])
    case array([JSON])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    static func parse(_ text: String) throws -> JSON {
        // Python's json module writes NaN and Infinity, which JSONDecoder accepts only when told.
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(JSON.self, from: Data(text.utf8))
    }

    subscript(key: String) -> JSON? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var int: Int? {
        guard let value = number, value == value.rounded(), abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var isNull: Bool {
        self == .null
    }
}

/// Typed access to one layer's `config` object, with errors that name the field.
struct LayerConfig: Sendable {
    let json: JSON

    func has(_ key: String) -> Bool {
        guard let value = json[key] else { return false }
        return !value.isNull
    }

    func string(_ key: String) throws -> String {
        guard let value = json[key]?.string else { throw ConversionError("field '\(key)' must be a string") }
        return value
    }

    func string(_ key: String, default fallback: String) throws -> String {
        has(key) ? try string(key) : fallback
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard has(key) else { return fallback }
        guard let value = json[key]?.bool else { throw ConversionError("field '\(key)' must be true or false") }
        return value
    }

    func double(_ key: String) throws -> Double {
        guard let value = json[key]?.number else { throw ConversionError("field '\(key)' must be a number") }
        return value
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        has(key) ? try double(key) : fallback
    }

    func int(_ key: String) throws -> Int {
        guard let value = json[key]?.int else { throw ConversionError("field '\(key)' must be an integer") }
        return value
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        has(key) ? try int(key) : fallback
    }

    /// An integer list; a single integer is repeated `count` times, as Keras allows.
    func ints(_ key: String, count: Int) throws -> [Int] {
        if let single = json[key]?.int { return Array(repeating: single, count: count) }
        guard let values = json[key]?.array?.compactMap(\.int), values.count == count else {
            throw ConversionError("field '\(key)' must be \(count) integers")
        }
        return values
    }

    /// An integer list that may be missing or hold nulls (unknown dimensions), as -1.
    func shape(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        guard let items = json[key]?.array else { throw ConversionError("field '\(key)' must be a list") }
        return try items.map { item in
            if item.isNull { return -1 }
            guard let value = item.int, value > 0 else { throw ConversionError("field '\(key)' holds a bad dimension") }
            return value
        }
    }

    /// Nested integer pairs such as ((1, 2), (0, 1)), also written as one int or one pair per side.
    func pairs(_ key: String, count: Int) throws -> [[Int]] {
        guard let value = json[key] else { throw ConversionError("field '\(key)' is missing") }
        if let single = value.int { return Array(repeating: [single, single], count: count) }
        guard let items = value.array, items.count == count else {
            throw ConversionError("field '\(key)' must hold \(count) entries")
        }
        return try items.map { item in
            if let single = item.int { return [single, single] }
            guard let pair = item.array?.compactMap(\.int), pair.count == 2 else {
                throw ConversionError("field '\(key)' must hold integer pairs")
            }
            return pair
        }
    }
}
