import H5ToLiteCore

/// The ZIP archive TFLite metadata appends to a model for its associated files: stored
/// (uncompressed) entries, which the Task Library and MediaPipe read in place, after the
/// flatbuffer, with offsets counted from the start of the whole file as minizip writes
/// them. The flatbuffer ahead of it is untouched, so runtimes load the file as before.
enum ZipArchive {
    static let localHeader: UInt32 = 0x0403_4b50
    static let centralHeader: UInt32 = 0x0201_4b50
    static let endOfDirectory: UInt32 = 0x0605_4b50
    /// Version 1.0 of the format: stored entries, no extensions.
    static let version: UInt16 = 10
    /// 1980-01-01 00:00, the earliest DOS date: fixed so the same model gives the same bytes.
    static let dosDate: UInt16 = (1 << 5) | 1

    /// The archive of `files`, to be appended to `prefixLength` bytes of other data.
    static func archive(_ files: [(name: String, contents: [UInt8])], after prefixLength: Int) -> [UInt8] {
        var body: [UInt8] = []
        var directory: [UInt8] = []
        for file in files {
            let name = Array(file.name.utf8)
            let crc = crc32(file.contents)
            let offset = prefixLength + body.count
            body.append(le: localHeader)
            body.append(le: version)
            body += (entryFields(crc: crc, size: file.contents.count, nameLength: name.count))
            body += name + file.contents
            directory.append(le: centralHeader)
            directory.append(le: version)  // made by
            directory.append(le: version)  // needed
            directory += (entryFields(crc: crc, size: file.contents.count, nameLength: name.count))
            directory.append(le: UInt16(0))  // comment length
            directory.append(le: UInt16(0))  // disk
            directory.append(le: UInt16(0))  // internal attributes
            directory.append(le: UInt32(0))  // external attributes
            directory.append(le: UInt32(offset))
            directory += name
        }
        var end: [UInt8] = []
        end.append(le: endOfDirectory)
        end.append(le: UInt16(0))
        end.append(le: UInt16(0))
        end.append(le: UInt16(files.count))
        end.append(le: UInt16(files.count))
        end.append(le: UInt32(directory.count))
        end.append(le: UInt32(prefixLength + body.count))
        end.append(le: UInt16(0))
        return body + directory + end
    }

    /// Flags, method (0: stored), time, date, CRC, both sizes, name and extra lengths.
    private static func entryFields(crc: UInt32, size: Int, nameLength: Int) -> [UInt8] {
        var fields: [UInt8] = []
        fields.append(le: UInt16(0))
        fields.append(le: UInt16(0))
        fields.append(le: UInt16(0))
        fields.append(le: dosDate)
        fields.append(le: crc)
        fields.append(le: UInt32(size))
        fields.append(le: UInt32(size))
        fields.append(le: UInt16(nameLength))
        fields.append(le: UInt16(0))
        return fields
    }

    /// The entries of the archive at the end of `bytes`, or nil when there is none. Every
    /// offset and size is checked against the bytes, and each entry's CRC against its
    /// contents: a damaged archive throws, naming the entry or field.
    static func entries(in bytes: [UInt8]) throws -> [(name: String, contents: [UInt8])]? {
        guard let end = findEndOfDirectory(bytes) else { return nil }
        let reader = LittleEndianReader(bytes: bytes)
        let count = Int(try reader.u16(end + 10, "end of central directory"))
        let size = Int(try reader.u32(end + 12, "end of central directory"))
        let offset = Int(try reader.u32(end + 16, "end of central directory"))
        // Writers that count offsets from the archive's start leave data ahead of it:
        // minizip and Python's zipfile read both ways, so this does too.
        let shift = end - size - offset
        guard size <= end, shift >= 0 else {
            throw zipError("central directory of \(size) bytes at offset \(offset) does not end where the archive's end record starts")
        }
        var position = offset + shift
        var files: [(name: String, contents: [UInt8])] = []
        for index in 0..<count {
            let entry = try centralEntry(reader, at: position, index: index, shift: shift)
            files.append((entry.name, entry.contents))
            position = entry.next
        }
        return files
    }

    private static func centralEntry(_ reader: LittleEndianReader, at position: Int, index: Int, shift: Int) throws
        -> (name: String, contents: [UInt8], next: Int) {
        let what = "central directory entry \(index)"
        guard try reader.u32(position, what) == centralHeader else { throw zipError("\(what) has no signature") }
        let method = try reader.u16(position + 10, what)
        let crc = try reader.u32(position + 16, what)
        let compressed = Int(try reader.u32(position + 20, what))
        let size = Int(try reader.u32(position + 24, what))
        let nameLength = Int(try reader.u16(position + 28, what))
        let extraLength = Int(try reader.u16(position + 30, what))
        let commentLength = Int(try reader.u16(position + 32, what))
        let local = Int(try reader.u32(position + 42, what)) + shift
        let name = String(decoding: try reader.slice(position + 46, nameLength, what), as: UTF8.self)
        guard method == 0, compressed == size else {
            throw zipError("entry '\(name)' is compressed (method \(method)); associated files are stored uncompressed")
        }
        guard try reader.u32(local, "local header of '\(name)'") == localHeader else {
            throw zipError("entry '\(name)': no local header at byte \(local)")
        }
        let dataStart = local + 30 + Int(try reader.u16(local + 26, "local header of '\(name)'"))
            + Int(try reader.u16(local + 28, "local header of '\(name)'"))
        let contents = Array(try reader.slice(dataStart, size, "contents of '\(name)'"))
        guard crc32(contents) == crc else { throw zipError("entry '\(name)': CRC-32 does not match its contents") }
        return (name, contents, position + 46 + nameLength + extraLength + commentLength)
    }

    /// The end record's position: its signature within the last 64 KiB + 22 bytes (its
    /// comment is at most 65535 bytes), the last one whose comment reaches the file's end.
    private static func findEndOfDirectory(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 22 else { return nil }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        for position in stride(from: bytes.count - 22, through: lowest, by: -1)
        where bytes[position] == 0x50 && bytes[position + 1] == 0x4b && bytes[position + 2] == 5 && bytes[position + 3] == 6 {
            let comment = Int(bytes[position + 20]) | Int(bytes[position + 21]) << 8
            if position + 22 + comment == bytes.count { return position }
        }
        return nil
    }

    private static func zipError(_ message: String) -> H5ToLiteError {
        H5ToLiteError(location: "associated files (ZIP)", message)
    }
}

/// Bounds-checked little-endian reads for the ZIP archive.
private struct LittleEndianReader {
    let bytes: [UInt8]

    func slice(_ position: Int, _ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard position >= 0, count >= 0, position <= bytes.count - count else {
            throw H5ToLiteError(location: "associated files (ZIP)", "\(what) at byte \(position) (\(count) bytes) lies outside the \(bytes.count)-byte file")
        }
        return bytes[position..<(position + count)]
    }

    func u16(_ position: Int, _ what: String) throws -> UInt16 {
        let b = try slice(position, 2, what)
        return UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
    }

    func u32(_ position: Int, _ what: String) throws -> UInt32 {
        try slice(position, 4, what).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}

private extension Array where Element == UInt8 {
    mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// CRC-32 as ZIP uses it (reflected polynomial 0xEDB88320, all ones in and out).
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc = crc32Table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return crc ^ 0xFFFF_FFFF
}

private let crc32Table: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    return value
}
