import Foundation
import H5ToLiteCore
import H5ToLiteIR

/// A read Keras model as bytes, so that a child process can do the reading (libhdf5 can
/// crash, loop or overrun its buffers on damaged files) and hand the result to its parent,
/// which then never calls libhdf5 itself. The parent re-parses the config from its text.
///
/// Layout, little endian: "H5TLKM1\n", then strings as (UInt32 length, UTF-8 bytes) and
/// counts as UInt32: format, Keras version, config text, number of weight keys, then per key
/// the key, the number of arrays and per array its name, rank, dims (Int64 each), and its
/// float32 values (count = product of dims).
public func encodeKerasModel(_ model: KerasModel) -> [UInt8] {
    var out = Array(transferMagic.utf8)
    // Sized up front: a DenseNet's 28 MB grown by appending costs page faults and copies.
    let floats = model.weights.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.values.count } }
    out.reserveCapacity(4 * floats + 64 * model.weights.count + 4 * model.configText.utf8.count + 1024)
    func string(_ text: String) {
        let bytes = Array(text.utf8)
        integer(UInt32(bytes.count))
        out += bytes
    }
    func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
    string(model.format.rawValue)
    string(model.kerasVersion)
    string(model.configText)
    integer(UInt32(model.weights.count))
    for (key, arrays) in model.weights.sorted(by: { $0.key < $1.key }) {
        string(key)
        integer(UInt32(arrays.count))
        for array in arrays {
            string(array.name)
            integer(UInt32(array.shape.count))
            array.shape.forEach { integer(Int64($0)) }
            array.values.withUnsafeBytes { out += $0 }
        }
    }
    return out
}

/// The model `encodeKerasModel` wrote; `file` names it in errors. Every length is checked
/// against the bytes left.
public func decodeKerasModel(_ bytes: [UInt8], file: String) throws -> KerasModel {
    var reader = TransferReader(bytes: bytes)
    do {
        guard Array(try reader.take(transferMagic.utf8.count)) == Array(transferMagic.utf8) else {
            throw H5ToLiteError("the reading process sent no model")
        }
        guard let format = KerasFormat(rawValue: try reader.string()) else {
            throw H5ToLiteError("the reading process sent an unknown format")
        }
        let version = try reader.string()
        let configText = try reader.string()
        var weights: [String: [WeightArray]] = [:]
        for _ in 0..<(try reader.count()) {
            let key = try reader.string()
            weights[key] = try (0..<(try reader.count())).map { _ in try reader.weightArray() }
        }
        let field = format == .kerasArchive ? "config.json" : "model_config"
        let spec = try parseCheckedModel(configText, field: field)
        return KerasModel(file: file, format: format, kerasVersion: version, configText: configText, spec: spec, weights: weights)
    } catch let error as H5ToLiteError {
        throw error.inFile(file)
    }
}

private let transferMagic = "H5TLKM1\n"

private struct TransferReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw H5ToLiteError("the reading process sent a truncated model") }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let slice = try take(MemoryLayout<T>.size)
        return slice.reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    mutating func count() throws -> Int {
        Int(try integer(UInt32.self))
    }

    mutating func string() throws -> String {
        String(decoding: try take(try count()), as: UTF8.self)
    }

    mutating func weightArray() throws -> WeightArray {
        let name = try string()
        let shape = try (0..<(try count())).map { _ in Int(truncatingIfNeeded: try integer(Int64.self)) }
        var elements = 1
        for dimension in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow, product <= (bytes.count - offset) / 4 else {
                throw H5ToLiteError(location: name, "the reading process sent a shape \(shape) larger than its data")
            }
            elements = product
        }
        let raw = try take(elements * 4)
        // One copy: the values are little-endian float32, as every platform Swift runs on.
        let values = [Float](unsafeUninitializedCapacity: elements) { target, count in
            raw.withUnsafeBytes { UnsafeMutableRawBufferPointer(target).copyMemory(from: $0) }
            count = elements
        }
        return WeightArray(name: name, shape: shape, values: values)
    }
}
