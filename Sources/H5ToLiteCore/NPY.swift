import Foundation

/// Reads a NumPy .npy file (format 1.0, 2.0 or 3.0, C order) as float32. Besides
/// '<f4' it reads '<f8', '<i4', '|u1' and '|i1', converting to float. Every size
/// in the header is checked against the file before anything is allocated.
public func readNPY(path: String) throws -> Tensor {
    guard FileManager.default.fileExists(atPath: path) else { throw H5ToLiteError(file: path, "no such file") }
    let bytes: Data
    do {
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw H5ToLiteError(file: path, "cannot read the file: \(error.localizedDescription)")
    }
    do {
        return try decodeNPY([UInt8](bytes))
    } catch let error as H5ToLiteError {
        throw error.inFile(path)
    }
}

/// Writes a float32 .npy file (format 1.0) through a temporary file in the same
/// folder, renamed into place, so a failed write leaves no partial file.
public func writeNPY(_ tensor: Tensor, path: String) throws {
    let target = URL(fileURLWithPath: path)
    let temporary = target.deletingLastPathComponent()
        .appendingPathComponent(".\(target.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
    do {
        try Data(encodeNPY(tensor)).write(to: temporary)
        guard rename(temporary.path, target.path) == 0 else {
            throw H5ToLiteError(String(cString: strerror(errno)))
        }
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        let reason = (error as? H5ToLiteError)?.description ?? error.localizedDescription
        throw H5ToLiteError(file: path, "cannot write the file: \(reason)")
    }
}

private let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

public func decodeNPY(_ bytes: [UInt8]) throws -> Tensor {
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
        throw H5ToLiteError("not a .npy file")
    }
    let major = bytes[6]
    guard (1...3).contains(major) else { throw H5ToLiteError("unsupported .npy format version \(major)") }
    let lengthSize = major == 1 ? 2 : 4
    guard bytes.count >= 8 + lengthSize else { throw H5ToLiteError("truncated header") }
    let headerLength = bytes[8..<(8 + lengthSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
    let dataStart = 8 + lengthSize + headerLength
    guard headerLength <= bytes.count - 8 - lengthSize else {
        throw H5ToLiteError("the header claims \(headerLength) bytes, more than the file holds")
    }
    let header = try NPYHeader(String(decoding: bytes[(8 + lengthSize)..<dataStart], as: UTF8.self))
    let size = try header.dataSize()
    guard bytes.count - dataStart == size else {
        throw H5ToLiteError("shape \(header.shape) of '\(header.descr)' needs \(size) data bytes, the file holds \(bytes.count - dataStart)")
    }
    return Tensor(shape: header.shape, data: header.decode(bytes[dataStart...]))
}

func encodeNPY(_ tensor: Tensor) -> [UInt8] {
    let dimensions = tensor.shape.map(String.init)
    let shape = dimensions.count == 1 ? "(\(dimensions[0]),)" : "(\(dimensions.joined(separator: ", ")))"
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
    // NumPy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
    let unpadded = magic.count + 4 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var bytes = magic + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
    bytes.reserveCapacity(bytes.count + 4 * tensor.data.count)
    for value in tensor.data {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
    }
    return bytes
}

/// The Python dict literal at the start of a .npy file.
private struct NPYHeader {
    let descr: String
    let shape: [Int]

    init(_ text: String) throws {
        guard let descr = NPYHeader.field("descr", in: text).flatMap({ NPYHeader.quoted($0) }) else {
            throw H5ToLiteError("the header has no 'descr'")
        }
        guard let order = NPYHeader.field("fortran_order", in: text) else {
            throw H5ToLiteError("the header has no 'fortran_order'")
        }
        guard order.hasPrefix("False") else { throw H5ToLiteError("Fortran-order arrays are not supported") }
        guard let shapeText = NPYHeader.field("shape", in: text), shapeText.hasPrefix("("),
              let close = shapeText.firstIndex(of: ")") else {
            throw H5ToLiteError("the header has no 'shape'")
        }
        let parts = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        shape = try parts.map { part in
            guard let dimension = Int(part), dimension >= 0 else { throw H5ToLiteError("invalid shape dimension '\(part)'") }
            return dimension
        }
        self.descr = descr
    }

    /// The text after `'key':`.
    private static func field(_ key: String, in text: String) -> Substring? {
        guard let range = text.range(of: "'\(key)'") else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { return nil }
        return rest.dropFirst().drop { $0 == " " }
    }

    private static func quoted(_ text: Substring) -> String? {
        guard let quote = text.first, quote == "'" || quote == "\"" else { return nil }
        let body = text.dropFirst()
        return body.firstIndex(of: quote).map { String(body[..<$0]) }
    }

    var itemSize: Int? {
        switch descr {
        case "<f4", "<i4": return 4
        case "<f8": return 8
        case "|u1", "|i1", "<u1", "<i1": return 1
        default: return nil
        }
    }

    func dataSize() throws -> Int {
        guard let itemSize else {
            throw H5ToLiteError("data type '\(descr)' is not supported (use <f4, <f8, <i4, |u1 or |i1)")
        }
        var size = itemSize
        for dimension in shape {
            let (product, overflow) = size.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw H5ToLiteError("shape \(shape) is too large") }
            size = product
        }
        return size
    }

    func decode(_ data: ArraySlice<UInt8>) -> [Float] {
        data.withUnsafeBytes { raw in
            let count = raw.count / (itemSize ?? 1)
            switch descr {
            case "<f4": return (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            case "<f8": return (0..<count).map { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            case "<i4": return (0..<count).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case "|i1", "<i1": return (0..<count).map { Float(Int8(bitPattern: raw[$0])) }
            default: return (0..<count).map { Float(raw[$0]) }
            }
        }
    }
}
