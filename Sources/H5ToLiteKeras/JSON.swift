import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// A parsed JSON document (Keras stores model configs as JSON text).
enum JSON: Equatable, Sendable {
    case object([String: JSON])
    case array([JSON])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// Parses JSON as Python's json module writes it, NaN and Infinity included.
    static func parse(_ text: String) throws -> JSON {
        var parser = JSONParser(bytes: Array(text.utf8))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw parser.error("trailing characters") }
        return value
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

    /// An object's fields in key order, so that reading them is deterministic.
    var sortedFields: [(key: String, value: JSON)]? {
        if case .object(let fields) = self { return fields.sorted { $0.key < $1.key } }
        return nil
    }
}

/// A small recursive-descent JSON reader: faster than Codable on multi-megabyte configs,
/// and bounded in nesting so a hostile file cannot exhaust the stack.
private struct JSONParser {
    let bytes: [UInt8]
    var position = 0
    static let maxDepth = 512

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func error(_ message: String) -> H5ToLiteError {
        H5ToLiteError("invalid JSON at byte \(position): \(message)")
    }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func take(_ literal: String) -> Bool {
        let expected = Array(literal.utf8)
        guard position + expected.count <= bytes.count, Array(bytes[position..<position + expected.count]) == expected else {
            return false
        }
        position += expected.count
        return true
    }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        skipSpace()
        guard position < bytes.count else { throw error("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t") where take("true"): return .bool(true)
        case UInt8(ascii: "f") where take("false"): return .bool(false)
        case UInt8(ascii: "n") where take("null"): return .null
        case UInt8(ascii: "N") where take("NaN"): return .number(.nan)
        case UInt8(ascii: "I") where take("Infinity"): return .number(.infinity)
        default: return .number(try number())
        }
    }

    mutating func object(depth: Int) throws -> JSON {
        position += 1
        var fields: [String: JSON] = [:]
        skipSpace()
        if take("}") { return .object(fields) }
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipSpace()
            guard take(":") else { throw error("expected ':'") }
            fields[key] = try value(depth: depth + 1)
            skipSpace()
            if take("}") { return .object(fields) }
            guard take(",") else { throw error("expected ',' or '}'") }
        }
    }

    mutating func array(depth: Int) throws -> JSON {
        position += 1
        var items: [JSON] = []
        skipSpace()
        if take("]") { return .array(items) }
        while true {
            items.append(try value(depth: depth + 1))
            skipSpace()
            if take("]") { return .array(items) }
            guard take(",") else { throw error("expected ',' or ']'") }
        }
    }

    mutating func number() throws -> Double {
        if take("-Infinity") { return -.infinity }
        let start = position
        while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) { position += 1 }
        guard position > start, let value = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw error("expected a value")
        }
        return value
    }

    mutating func string() throws -> String {
        position += 1
        var scalars: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return String(decoding: scalars, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else {
                scalars.append(byte)
                continue
            }
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "u"): scalars.append(contentsOf: Array(try unicodeEscape().utf8))
            default: scalars.append(escape)
            }
        }
        throw error("unterminated string")
    }

    /// `\uXXXX`, joining UTF-16 surrogate pairs; a lone surrogate becomes U+FFFD (and an
    /// escape after a high surrogate that is not a low one stands on its own: the fuzzer found
    /// the subtraction that overflowed there).
    mutating func unicodeEscape() throws -> String {
        let high = try hex4()
        guard (0xD800..<0xDC00).contains(high), take("\\u") else { return scalar(high) }
        let low = try hex4()
        guard (0xDC00..<0xE000).contains(low) else { return "\u{FFFD}" + scalar(low) }
        return scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    private func scalar(_ value: UInt32) -> String {
        String(Unicode.Scalar(value).map(Character.init) ?? "\u{FFFD}")
    }

    mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count, bytes[position..<position + 4].allSatisfy(\.isHexDigit),
              let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
            throw error("bad \\u escape")
        }
        position += 4
        return value
    }
}

private extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
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
        guard let value = json[key]?.string else { throw H5ToLiteError("field '\(key)' must be a string") }
        return value
    }

    func string(_ key: String, default fallback: String) throws -> String {
        has(key) ? try string(key) : fallback
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard has(key) else { return fallback }
        guard let value = json[key]?.bool else { throw H5ToLiteError("field '\(key)' must be true or false") }
        return value
    }

    func double(_ key: String) throws -> Double {
        guard let value = json[key]?.number else { throw H5ToLiteError("field '\(key)' must be a number") }
        return value
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        has(key) ? try double(key) : fallback
    }

    func int(_ key: String) throws -> Int {
        guard let value = json[key]?.int else { throw H5ToLiteError("field '\(key)' must be an integer") }
        return value
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        has(key) ? try int(key) : fallback
    }

    /// An integer list; a single integer is repeated `count` times, as Keras allows.
    func ints(_ key: String, count: Int) throws -> [Int] {
        if let single = json[key]?.int { return Array(repeating: single, count: count) }
        guard let values = json[key]?.array?.compactMap(\.int), values.count == count else {
            throw H5ToLiteError("field '\(key)' must be \(count) integers")
        }
        return values
    }

    /// An integer list that may be missing or hold nulls (unknown dimensions), as -1.
    func shape(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        guard let items = json[key]?.array else { throw H5ToLiteError("field '\(key)' must be a list") }
        return try items.map { item in
            if item.isNull { return -1 }
            guard let value = item.int, value > 0 else { throw H5ToLiteError("field '\(key)' holds a bad dimension") }
            return value
        }
    }

    /// Nested integer pairs such as ((1, 2), (0, 1)), also written as one int or one pair per side.
    func pairs(_ key: String, count: Int) throws -> [[Int]] {
        guard let value = json[key] else { throw H5ToLiteError("field '\(key)' is missing") }
        if let single = value.int { return Array(repeating: [single, single], count: count) }
        guard let items = value.array, items.count == count else {
            throw H5ToLiteError("field '\(key)' must hold \(count) entries")
        }
        return try items.map { item in
            if let single = item.int { return [single, single] }
            guard let pair = item.array?.compactMap(\.int), pair.count == 2 else {
                throw H5ToLiteError("field '\(key)' must hold integer pairs")
            }
            return pair
        }
    }
}
