/// Offset of a finished object, counted from the end of the buffer being built.
public struct FBOffset: Equatable, Sendable {
    let value: Int
}

/// Builds a FlatBuffer back to front, as the format requires: children are written
/// before the tables that point at them, and every reference points forward.
public struct FlatBufferBuilder {
    private var storage: [UInt8]
    /// Bytes written so far; they occupy the last `size` bytes of `storage`.
    private(set) var size = 0
    private var minAlignment = 1
    private var fieldLocations: [(slot: Int, offset: Int)] = []
    private var tableStart = 0
    private var vtables: [[UInt8]: Int] = [:]

    public init(capacity: Int = 1 << 16) {
        storage = [UInt8](repeating: 0, count: max(capacity, 64))
    }

    // MARK: raw writing

    private mutating func grow(toFit extra: Int) {
        guard size + extra > storage.count else { return }
        var newCount = storage.count * 2
        while newCount < size + extra { newCount *= 2 }
        var bigger = [UInt8](repeating: 0, count: newCount)
        bigger.withUnsafeMutableBytes { target in
            storage.withUnsafeBytes { source in
                target.baseAddress!.advanced(by: newCount - size)
                    .copyMemory(from: source.baseAddress!.advanced(by: storage.count - size), byteCount: size)
            }
        }
        storage = bigger
    }

    /// Pads so that after `additional` more bytes the next `alignment`-sized item is aligned.
    private mutating func prepare(_ alignment: Int, additional: Int) {
        minAlignment = max(minAlignment, alignment)
        let padding = (~(size + additional) + 1) & (alignment - 1)
        grow(toFit: padding + additional + alignment)
        size += padding  // storage is zero-filled, so padding bytes are zeros
    }

    private mutating func push<T: FixedWidthInteger>(_ value: T) {
        let width = MemoryLayout<T>.size
        grow(toFit: width)
        size += width
        let position = storage.count - size
        withUnsafeBytes(of: value.littleEndian) { bytes in
            for index in 0..<width { storage[position + index] = bytes[index] }
        }
    }

    private mutating func pushBytes(_ bytes: UnsafeRawBufferPointer) {
        grow(toFit: bytes.count)
        size += bytes.count
        let position = storage.count - size
        storage.withUnsafeMutableBytes { target in
            target.baseAddress!.advanced(by: position).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
    }

    private mutating func pushOffset(_ offset: FBOffset) {
        prepare(4, additional: 0)
        push(UInt32(size - offset.value + 4))
    }

    // MARK: strings and vectors

    public mutating func createString(_ text: String) -> FBOffset {
        let bytes = Array(text.utf8)
        prepare(4, additional: bytes.count + 1)
        push(UInt8(0))
        bytes.withUnsafeBytes { pushBytes($0) }
        push(UInt32(bytes.count))
        return FBOffset(value: size)
    }

    /// A vector of scalars; `alignment` lets buffers start on 16-byte boundaries.
    public mutating func createVector<T: FixedWidthInteger>(_ values: [T], alignment: Int = 1) -> FBOffset {
        let width = MemoryLayout<T>.size
        prepare(4, additional: values.count * width)
        prepare(max(width, alignment), additional: values.count * width)
        for value in values.reversed() { push(value) }
        push(UInt32(values.count))
        return FBOffset(value: size)
    }

    /// A vector of raw bytes, copied in one go.
    public mutating func createByteVector(_ bytes: UnsafeRawBufferPointer, alignment: Int) -> FBOffset {
        prepare(4, additional: bytes.count)
        prepare(alignment, additional: bytes.count)
        if bytes.count > 0 { pushBytes(bytes) }
        push(UInt32(bytes.count))
        return FBOffset(value: size)
    }

    public mutating func createVector(_ values: [Float]) -> FBOffset {
        createVector(values.map(\.bitPattern))
    }

    public mutating func createVector(offsets: [FBOffset]) -> FBOffset {
        prepare(4, additional: offsets.count * 4)
        for offset in offsets.reversed() { pushOffset(offset) }
        push(UInt32(offsets.count))
        return FBOffset(value: size)
    }

    // MARK: tables

    public mutating func startTable() {
        fieldLocations = []
        tableStart = size
    }

    /// A scalar field, left out when it equals the schema default (readers supply it).
    public mutating func add<T: FixedWidthInteger>(_ slot: Int, _ value: T, default fallback: T = 0) {
        guard value != fallback else { return }
        prepare(MemoryLayout<T>.size, additional: 0)
        push(value)
        fieldLocations.append((slot, size))
    }

    public mutating func add(_ slot: Int, _ value: Float, default fallback: Float = 0) {
        guard value != fallback else { return }
        add(slot, value.bitPattern, default: fallback.bitPattern)
    }

    public mutating func add(_ slot: Int, _ value: Bool, default fallback: Bool = false) {
        add(slot, UInt8(value ? 1 : 0), default: UInt8(fallback ? 1 : 0))
    }

    public mutating func add(_ slot: Int, _ offset: FBOffset?) {
        guard let offset else { return }
        pushOffset(offset)
        fieldLocations.append((slot, size))
    }

    public mutating func endTable() -> FBOffset {
        prepare(4, additional: 0)
        push(Int32(0))  // replaced by the offset to the vtable below
        let table = size
        let slots = (fieldLocations.map(\.slot).max() ?? -1) + 1
        var entries = [UInt16](repeating: 0, count: slots)
        for (slot, offset) in fieldLocations {
            entries[slot] = UInt16(table - offset)
        }
        var vtable: [UInt8] = []
        for value in [UInt16(4 + 2 * slots), UInt16(table - tableStart)] + entries {
            vtable.append(UInt8(value & 0xFF))
            vtable.append(UInt8(value >> 8))
        }
        let vtableOffset: Int
        if let existing = vtables[vtable] {
            vtableOffset = existing
        } else {
            for value in entries.reversed() { push(value) }
            push(UInt16(table - tableStart))
            push(UInt16(4 + 2 * slots))
            vtableOffset = size
            vtables[vtable] = vtableOffset
        }
        // soffset = table position - vtable position, both measured from the start.
        let relative = Int32(vtableOffset - table)
        let position = storage.count - table
        withUnsafeBytes(of: relative.littleEndian) { bytes in
            for index in 0..<4 { storage[position + index] = bytes[index] }
        }
        return FBOffset(value: table)
    }

    /// Writes the root offset and file identifier and returns the finished bytes.
    public mutating func finish(root: FBOffset, fileIdentifier: String) -> [UInt8] {
        let identifier = Array(fileIdentifier.utf8)
        precondition(identifier.count == 4)
        prepare(minAlignment, additional: 8)
        for byte in identifier.reversed() { push(byte) }
        pushOffset(root)
        return Array(storage[(storage.count - size)...])
    }
}
