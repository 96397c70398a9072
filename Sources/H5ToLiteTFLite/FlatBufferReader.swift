import H5ToLiteCore
/// A FlatBuffer that does not hold together: an offset, length or alignment that points
/// outside the bytes or breaks the format's rules.
func malformed(_ message: String) -> H5ToLiteError {
    H5ToLiteError("malformed flatbuffer: \(message)")
}

/// A read-only, bounds-checked view of a FlatBuffer. Every offset, length and
/// alignment is checked before it is used, so malformed input throws instead of
/// trapping, and nothing is allocated before its size has been checked against
/// the bytes that are actually there.
public struct FlatBuffer: Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The four bytes after the root offset, where files keep their identifier.
    public var fileIdentifier: String? {
        guard bytes.count >= 8 else { return nil }
        return String(decoding: bytes[4..<8], as: UTF8.self)
    }

    public func rootTable() throws -> FlatTable {
        try FlatTable(self, at: try follow(at: 0))
    }

    /// Checks that `size` bytes at `position` lie inside the buffer and that
    /// `position` is a multiple of `alignment`.
    func check(_ position: Int, size: Int, alignment: Int, _ what: @autoclosure () -> String) throws {
        guard position >= 0, size >= 0, position <= bytes.count - size else {
            throw malformed("\(what()) at byte \(position) (\(size) bytes) lies outside the \(bytes.count)-byte buffer")
        }
        guard position % alignment == 0 else {
            throw malformed("\(what()) at byte \(position) is not aligned to \(alignment) bytes")
        }
    }

    func load<T: FixedWidthInteger>(_ type: T.Type, at position: Int, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        try check(position, size: size, alignment: size, what())
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
    }

    /// The zero-terminated UTF-8 string whose length is stored at `position`.
    func string(at position: Int) throws -> String {
        let vector = try FlatVector(self, at: position, elementSize: 1)
        let end = vector.start + vector.count
        guard end < bytes.count, bytes[end] == 0 else {
            throw malformed("string at byte \(position) has no terminating zero")
        }
        return String(decoding: bytes[vector.start..<end], as: UTF8.self)
    }

    /// The position an unsigned 32-bit offset stored at `position` points to.
    func follow(at position: Int) throws -> Int {
        let offset = try load(UInt32.self, at: position, "offset")
        let target = position + Int(offset)
        guard target < bytes.count else {
            throw malformed("offset at byte \(position) points to byte \(target), past the \(bytes.count)-byte buffer")
        }
        return target
    }
}

/// One table: its position and the vtable that locates its fields.
public struct FlatTable: Sendable {
    let buffer: FlatBuffer
    let position: Int
    let vtable: Int
    let vtableSize: Int
    let tableSize: Int

    init(_ buffer: FlatBuffer, at position: Int) throws {
        let soffset = try buffer.load(Int32.self, at: position, "table")
        let vtable = position - Int(soffset)
        let vtableSize = Int(try buffer.load(UInt16.self, at: vtable, "vtable of the table at byte \(position)"))
        guard vtableSize >= 4, vtableSize % 2 == 0 else {
            throw malformed("vtable at byte \(vtable) has an invalid size \(vtableSize)")
        }
        try buffer.check(vtable, size: vtableSize, alignment: 2, "vtable")
        let tableSize = Int(try buffer.load(UInt16.self, at: vtable + 2, "vtable"))
        guard tableSize >= 4 else {
            throw malformed("table at byte \(position) declares size \(tableSize), less than its own header")
        }
        try buffer.check(position, size: tableSize, alignment: 4, "table")
        self.buffer = buffer
        self.position = position
        self.vtable = vtable
        self.vtableSize = vtableSize
        self.tableSize = tableSize
    }

    /// Byte position of the field in vtable `slot`, or nil when the field is absent.
    func field(_ slot: Int, size: Int) throws -> Int? {
        let entry = 4 + 2 * slot
        guard entry + 2 <= vtableSize else { return nil }
        let offset = Int(try buffer.load(UInt16.self, at: vtable + entry, "vtable entry"))
        if offset == 0 { return nil }
        guard offset >= 4, offset + size <= tableSize else {
            throw malformed("field \(slot) of the table at byte \(position) lies outside the table")
        }
        return position + offset
    }

    public func scalar<T: FixedWidthInteger>(_ slot: Int, default value: T) throws -> T {
        guard let at = try field(slot, size: MemoryLayout<T>.size) else { return value }
        return try buffer.load(T.self, at: at, "field \(slot)")
    }

    public func float(_ slot: Int, default value: Float) throws -> Float {
        Float(bitPattern: try scalar(slot, default: value.bitPattern))
    }

    public func bool(_ slot: Int, default value: Bool) throws -> Bool {
        try scalar(slot, default: UInt8(value ? 1 : 0)) != 0
    }

    /// The type tag of a union field; the union's table is in the next slot.
    public func unionType(_ slot: Int) throws -> UInt8 {
        try scalar(slot, default: UInt8(0))
    }

    public func table(_ slot: Int) throws -> FlatTable? {
        guard let at = try field(slot, size: 4) else { return nil }
        return try FlatTable(buffer, at: try buffer.follow(at: at))
    }

    public func string(_ slot: Int) throws -> String? {
        guard let at = try field(slot, size: 4) else { return nil }
        return try buffer.string(at: try buffer.follow(at: at))
    }

    /// A vector field whose elements are `elementSize` bytes each (4 for tables
    /// and strings, which are stored as offsets).
    public func vector(_ slot: Int, elementSize: Int) throws -> FlatVector? {
        guard let at = try field(slot, size: 4) else { return nil }
        return try FlatVector(buffer, at: try buffer.follow(at: at), elementSize: elementSize)
    }
}

/// A vector: a 32-bit length followed by its elements.
public struct FlatVector: Sendable {
    let buffer: FlatBuffer
    /// Position of the first element.
    let start: Int
    public let count: Int
    let elementSize: Int

    init(_ buffer: FlatBuffer, at position: Int, elementSize: Int) throws {
        let count = Int(try buffer.load(UInt32.self, at: position, "vector length"))
        let start = position + 4
        guard count <= (buffer.bytes.count - start) / elementSize else {
            throw malformed("vector at byte \(position) claims \(count) elements of \(elementSize) bytes, more than the buffer holds")
        }
        try buffer.check(start, size: count * elementSize, alignment: min(elementSize, 8), "vector")
        self.buffer = buffer
        self.start = start
        self.count = count
        self.elementSize = elementSize
    }

    /// The bytes of a `[ubyte]` vector.
    public var bytes: ArraySlice<UInt8> {
        buffer.bytes[start..<(start + count * elementSize)]
    }

    public func scalars<T: FixedWidthInteger>(_ type: T.Type) throws -> [T] {
        guard MemoryLayout<T>.size == elementSize else {
            throw malformed("vector at byte \(start) holds \(elementSize)-byte elements, read as \(MemoryLayout<T>.size)-byte")
        }
        return buffer.bytes.withUnsafeBytes { raw in
            (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: start + $0 * elementSize, as: T.self)) }
        }
    }

    public func table(_ index: Int) throws -> FlatTable {
        try FlatTable(buffer, at: try buffer.follow(at: try offsetPosition(index)))
    }

    private func offsetPosition(_ index: Int) throws -> Int {
        guard elementSize == 4, index >= 0, index < count else {
            throw malformed("element \(index) of a \(count)-element vector at byte \(start) requested")
        }
        return start + 4 * index
    }
}
