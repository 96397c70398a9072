import Foundation
import H5ToLiteCore

/// A DICOM tag, group in the high 16 bits and element in the low 16 bits.
typealias DICOMTag = UInt32

extension DICOMTag {
    static let transferSyntax: DICOMTag = 0x0002_0010
    static let samplesPerPixel: DICOMTag = 0x0028_0002
    static let photometricInterpretation: DICOMTag = 0x0028_0004
    static let planarConfiguration: DICOMTag = 0x0028_0006
    static let numberOfFrames: DICOMTag = 0x0028_0008
    static let rows: DICOMTag = 0x0028_0010
    static let columns: DICOMTag = 0x0028_0011
    static let bitsAllocated: DICOMTag = 0x0028_0100
    static let bitsStored: DICOMTag = 0x0028_0101
    static let highBit: DICOMTag = 0x0028_0102
    static let pixelRepresentation: DICOMTag = 0x0028_0103
    static let windowCenter: DICOMTag = 0x0028_1050
    static let windowWidth: DICOMTag = 0x0028_1051
    static let rescaleIntercept: DICOMTag = 0x0028_1052
    static let rescaleSlope: DICOMTag = 0x0028_1053
    static let voiLUTFunction: DICOMTag = 0x0028_1056
    static let pixelData: DICOMTag = 0x7FE0_0010
    static let item: DICOMTag = 0xFFFE_E000
    static let itemDelimiter: DICOMTag = 0xFFFE_E00D
    static let sequenceDelimiter: DICOMTag = 0xFFFE_E0DD
}

enum TransferSyntax: String {
    case implicitLittleEndian = "1.2.840.10008.1.2"
    case explicitLittleEndian = "1.2.840.10008.1.2.1"
    case jpegBaseline = "1.2.840.10008.1.2.4.50"

    /// Names of the common syntaxes this reader refuses, for the error message.
    static let unsupportedNames = [
        "1.2.840.10008.1.2.1.99": "deflated explicit VR little endian",
        "1.2.840.10008.1.2.2": "explicit VR big endian",
        "1.2.840.10008.1.2.4.51": "JPEG extended 12-bit",
        "1.2.840.10008.1.2.4.57": "JPEG lossless",
        "1.2.840.10008.1.2.4.70": "JPEG lossless SV1",
        "1.2.840.10008.1.2.4.80": "JPEG-LS lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
        "1.2.840.10008.1.2.4.91": "JPEG 2000",
        "1.2.840.10008.1.2.4.201": "HTJ2K lossless",
        "1.2.840.10008.1.2.4.203": "HTJ2K",
        "1.2.840.10008.1.2.5": "RLE lossless",
    ]

    init(uid: String) throws {
        guard let syntax = TransferSyntax(rawValue: uid) else {
            let name = TransferSyntax.unsupportedNames[uid].map { " (\($0))" } ?? ""
            throw H5ToLiteError("unsupported DICOM transfer syntax \(uid)\(name)")
        }
        self = syntax
    }

    var explicitVR: Bool { self != .implicitLittleEndian }
}

/// The top-level data elements of a DICOM file up to its pixel data, as ranges of the
/// file's bytes. Only little-endian syntaxes are read; every length is checked
/// against the bytes that remain before it is used.
struct DICOMDataSet {
    let bytes: [UInt8]
    private(set) var transferSyntax = TransferSyntax.implicitLittleEndian
    private(set) var values: [DICOMTag: Range<Int>] = [:]
    /// Native pixel data: one range. Encapsulated: the fragments after the offset table.
    private(set) var pixelData: [Range<Int>] = []
    private(set) var encapsulated = false

    /// Deeper nesting of sequences than this is refused rather than followed.
    private static let maxSequenceDepth = 32

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        var offset = hasDICOMPreamble(bytes) ? 132 : 0
        var explicitVR: Bool
        if offset + 4 <= bytes.count, uint16(at: offset) == 0x0002 {
            try readMetaGroup(&offset)
            guard let uid = string(.transferSyntax) else { throw H5ToLiteError("the DICOM file meta group has no transfer syntax") }
            transferSyntax = try TransferSyntax(uid: uid)
            explicitVR = transferSyntax.explicitVR
        } else {
            // A bare data set, as some .dcm writers leave them: tell the VR encoding
            // from whether the first element carries two uppercase VR letters.
            explicitVR = offset + 6 <= bytes.count && isVR(bytes[offset + 4], bytes[offset + 5])
            transferSyntax = explicitVR ? .explicitLittleEndian : .implicitLittleEndian
        }
        try readDataSet(&offset, explicitVR: explicitVR)
    }

    // MARK: Values

    func uint16(_ tag: DICOMTag) -> Int? {
        guard let range = values[tag], range.count >= 2 else { return nil }
        return Int(uint16(at: range.lowerBound))
    }

    /// A text value with its padding (spaces, NULs) removed.
    func string(_ tag: DICOMTag) -> String? {
        guard let range = values[tag] else { return nil }
        let text = String(decoding: bytes[range], as: UTF8.self)
        return text.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\0")))
    }

    /// The numbers of a multi-valued decimal or integer string ("40\400").
    func numbers(_ tag: DICOMTag) throws -> [Double]? {
        guard let text = string(tag), !text.isEmpty else { return nil }
        return try text.split(separator: "\\", omittingEmptySubsequences: false).map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let number = Double(trimmed), number.isFinite else {
                throw H5ToLiteError("DICOM tag \(name(tag)) holds '\(text)', not a number")
            }
            return number
        }
    }

    func name(_ tag: DICOMTag) -> String {
        String(format: "(%04X,%04X)", tag >> 16, tag & 0xFFFF)
    }

    // MARK: Parsing

    private func uint16(at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private func uint32(at offset: Int) -> UInt32 {
        UInt32(uint16(at: offset)) | UInt32(uint16(at: offset + 2)) << 16
    }

    private func isVR(_ first: UInt8, _ second: UInt8) -> Bool {
        (0x41...0x5A).contains(first) && (0x41...0x5A).contains(second)
    }

    /// The file meta group (0002,xxxx), always explicit VR little endian.
    private mutating func readMetaGroup(_ offset: inout Int) throws {
        while offset + 4 <= bytes.count, uint16(at: offset) == 0x0002 {
            let (tag, length, _) = try readHeader(&offset, explicitVR: true)
            guard let length else { throw H5ToLiteError("DICOM meta element \(name(tag)) has an undefined length") }
            values[tag] = offset..<(offset + length)
            offset += length
        }
    }

    private mutating func readDataSet(_ offset: inout Int, explicitVR: Bool) throws {
        while offset < bytes.count {
            let (tag, length, isUN) = try readHeader(&offset, explicitVR: explicitVR)
            if tag == .pixelData {
                try readPixelData(&offset, length: length)
                return
            }
            guard tag >> 16 != 0xFFFE else { throw H5ToLiteError("stray DICOM item \(name(tag)) at byte \(offset - 8)") }
            if let length {
                values[tag] = offset..<(offset + length)
                offset += length
            } else {
                try skipSequence(&offset, explicitVR: explicitVR && !isUN, depth: 1)
            }
        }
        throw H5ToLiteError("the DICOM file has no pixel data")
    }

    /// Reads an element's tag and value length, leaving `offset` at its value. A nil
    /// length is undefined (0xFFFFFFFF); a defined one fits in the rest of the file.
    /// `isUN` tells an explicit VR of UN, whose undefined-length value is a sequence
    /// encoded in implicit VR.
    private func readHeader(_ offset: inout Int, explicitVR: Bool) throws -> (tag: DICOMTag, length: Int?, isUN: Bool) {
        let start = offset
        guard offset + 8 <= bytes.count else { throw truncated(at: start) }
        let tag = DICOMTag(uint16(at: offset)) << 16 | DICOMTag(uint16(at: offset + 2))
        var length: UInt32
        var isUN = false
        if explicitVR && tag >> 16 != 0xFFFE {
            let vr = (bytes[offset + 4], bytes[offset + 5])
            isUN = vr == (0x55, 0x4E)
            guard isVR(vr.0, vr.1) else {
                throw H5ToLiteError("DICOM element \(name(tag)) at byte \(start) has no valid VR")
            }
            if Self.longVRs.contains(where: { $0 == vr }) {
                guard offset + 12 <= bytes.count else { throw truncated(at: start) }
                length = uint32(at: offset + 8)
                offset += 12
            } else {
                length = UInt32(uint16(at: offset + 6))
                offset += 8
            }
        } else {
            length = uint32(at: offset + 4)
            offset += 8
        }
        if length == 0xFFFF_FFFF { return (tag, nil, isUN) }
        guard Int(length) <= bytes.count - offset else {
            throw H5ToLiteError("DICOM element \(name(tag)) at byte \(start) claims \(length) bytes, only \(bytes.count - offset) remain")
        }
        return (tag, Int(length), isUN)
    }

    private func truncated(at offset: Int) -> H5ToLiteError {
        H5ToLiteError("the DICOM file ends inside the element header at byte \(offset)")
    }

    /// VRs whose explicit encoding has two reserved bytes and a 32-bit length.
    private static let longVRs: [(UInt8, UInt8)] = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]
        .map { (Array($0.utf8)[0], Array($0.utf8)[1]) }

    /// Skips a sequence of undefined length up to and past its delimiter. Items of
    /// undefined length hold data sets whose own sequences are skipped in turn.
    private func skipSequence(_ offset: inout Int, explicitVR: Bool, depth: Int) throws {
        guard depth <= Self.maxSequenceDepth else { throw H5ToLiteError("DICOM sequences nest deeper than \(Self.maxSequenceDepth)") }
        while true {
            let (tag, length, _) = try readHeader(&offset, explicitVR: explicitVR)
            switch (tag, length) {
            case (.sequenceDelimiter, _):
                return
            case (.item, let length?):
                offset += length
            case (.item, nil):
                try skipItem(&offset, explicitVR: explicitVR, depth: depth)
            default:
                throw H5ToLiteError("DICOM sequence holds \(name(tag)) at byte \(offset - 8) where an item belongs")
            }
        }
    }

    private func skipItem(_ offset: inout Int, explicitVR: Bool, depth: Int) throws {
        while true {
            let (tag, length, isUN) = try readHeader(&offset, explicitVR: explicitVR)
            if tag == .itemDelimiter { return }
            if let length {
                offset += length
            } else {
                try skipSequence(&offset, explicitVR: explicitVR && !isUN, depth: depth + 1)
            }
        }
    }

    private mutating func readPixelData(_ offset: inout Int, length: Int?) throws {
        if let length {
            guard transferSyntax != .jpegBaseline else { throw H5ToLiteError("JPEG DICOM pixel data is not encapsulated") }
            pixelData = [offset..<(offset + length)]
            return
        }
        guard transferSyntax == .jpegBaseline else {
            throw H5ToLiteError("encapsulated DICOM pixel data in the uncompressed transfer syntax \(transferSyntax.rawValue)")
        }
        encapsulated = true
        var isOffsetTable = true
        while true {
            let (tag, length, _) = try readHeader(&offset, explicitVR: false)
            if tag == .sequenceDelimiter { break }
            guard tag == .item, let length else {
                throw H5ToLiteError("encapsulated DICOM pixel data holds \(name(tag)) at byte \(offset - 8) where a fragment belongs")
            }
            if !isOffsetTable { pixelData.append(offset..<(offset + length)) }
            isOffsetTable = false
            offset += length
        }
        guard !pixelData.isEmpty else { throw H5ToLiteError("encapsulated DICOM pixel data has no fragments") }
    }
}
