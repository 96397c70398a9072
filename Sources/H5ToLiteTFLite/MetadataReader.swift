import Foundation
import H5ToLiteCore

/// The metadata of a .tflite file (ours or another converter's) and the files packed
/// after it; nil when the file has no TFLITE_METADATA entry. A damaged metadata buffer
/// or archive is a one-line error naming the file and the field.
public func readMetadata(path: String) throws -> PackedMetadata? {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw H5ToLiteError(file: path, "cannot read the file: \(error.localizedDescription)")
    }
    do {
        return try readMetadata(bytes: [UInt8](data))
    } catch let error as H5ToLiteError {
        throw error.inFile(path)
    }
}

public func readMetadata(bytes: [UInt8]) throws -> PackedMetadata? {
    let file = FlatBuffer(bytes: bytes)
    guard file.fileIdentifier == "TFL3" else { throw H5ToLiteError("not a TFLite model: the file identifier is not \"TFL3\"") }
    let model = try file.rootTable()
    guard let buffer = try metadataBuffer(model) else { return nil }
    let metadata: ModelMetadata
    do {
        metadata = try decodeMetadata(buffer)
    } catch let error as H5ToLiteError {
        throw H5ToLiteError(location: [metadataEntryName, error.location].compactMap { $0 }.joined(separator: "."), error.message)
    }
    let files = try ZipArchive.entries(in: bytes) ?? []
    for named in metadata.associatedFiles where !files.contains(where: { $0.name == named.name }) {
        throw H5ToLiteError(location: "\(metadataEntryName): associated file '\(named.name)'", "not in the archive after the model")
    }
    return PackedMetadata(metadata: metadata, files: files)
}

/// The bytes of the buffer the TFLITE_METADATA entry points at.
private func metadataBuffer(_ model: FlatTable) throws -> [UInt8]? {
    guard let entries = try model.vector(Slot.Model.metadata, elementSize: 4) else { return nil }
    for index in 0..<entries.count {
        let entry = try entries.table(index)
        guard try entry.string(Slot.Metadata.name) == metadataEntryName else { continue }
        let slot = Int(try entry.scalar(Slot.Metadata.buffer, default: UInt32(0)))
        guard let buffers = try model.vector(Slot.Model.buffers, elementSize: 4), slot < buffers.count else {
            throw H5ToLiteError(location: "\(metadataEntryName): buffer", "index \(slot) is not a buffer of the model")
        }
        return Array(try buffers.table(slot).vector(Slot.Buffer.data, elementSize: 1)?.bytes ?? [])
    }
    return nil
}

/// Decodes an "M001" flatbuffer. Errors name the field they are about.
func decodeMetadata(_ bytes: [UInt8]) throws -> ModelMetadata {
    let buffer = FlatBuffer(bytes: bytes)
    guard buffer.fileIdentifier == "M001" else {
        throw H5ToLiteError("the buffer is not metadata: its identifier is \(buffer.fileIdentifier.map { "\"\($0)\"" } ?? "missing"), expected \"M001\"")
    }
    typealias Slot = MetadataSchema.Slot.ModelMetadata
    let root = try buffer.rootTable()
    var inputs: [TensorMetadata] = []
    var outputs: [TensorMetadata] = []
    if let subgraphs = try field("subgraph_metadata", root.vector(Slot.subgraph_metadata, elementSize: 4)), subgraphs.count > 0 {
        let subgraph = try field("subgraph_metadata[0]", subgraphs.table(0))
        typealias Sub = MetadataSchema.Slot.SubGraphMetadata
        inputs = try tensors(subgraph, Sub.input_tensor_metadata, "input_tensor_metadata")
        outputs = try tensors(subgraph, Sub.output_tensor_metadata, "output_tensor_metadata")
    }
    return ModelMetadata(
        name: try field("name", root.string(Slot.name)) ?? "",
        description: try field("description", root.string(Slot.description)),
        version: try field("version", root.string(Slot.version)),
        author: try field("author", root.string(Slot.author)),
        license: try field("license", root.string(Slot.license)),
        inputs: inputs, outputs: outputs,
        minParserVersion: try field("min_parser_version", root.string(Slot.min_parser_version)))
}

/// Runs `read`, adding `name` to the location of what it throws.
private func field<T>(_ name: String, _ read: @autoclosure () throws -> T) throws -> T {
    do {
        return try read()
    } catch let error as H5ToLiteError {
        throw H5ToLiteError(location: [name, error.location].compactMap { $0 }.joined(separator: "."), error.message)
    }
}

private func tensors(_ subgraph: FlatTable, _ slot: Int, _ name: String) throws -> [TensorMetadata] {
    guard let vector = try field(name, subgraph.vector(slot, elementSize: 4)) else { return [] }
    return try (0..<vector.count).map { index in
        try field("\(name)[\(index)]", tensor(try vector.table(index)))
    }
}

private func tensor(_ table: FlatTable) throws -> TensorMetadata {
    typealias Slot = MetadataSchema.Slot.TensorMetadata
    var normalization: Normalization?
    var otherUnits = 0
    if let units = try field("process_units", table.vector(Slot.process_units, elementSize: 4)) {
        for index in 0..<units.count {
            let unit = try field("process_units[\(index)]", units.table(index))
            let tag = try unit.unionType(MetadataSchema.Slot.ProcessUnit.options_type)
            guard tag == MetadataSchema.ProcessUnitOptions.NormalizationOptions.rawValue, normalization == nil,
                  let options = try field("process_units[\(index)].options", unit.table(MetadataSchema.Slot.ProcessUnit.options)) else {
                otherUnits += 1
                continue
            }
            normalization = try field("process_units[\(index)].options", readNormalization(options))
        }
    }
    var files: [AssociatedFile] = []
    if let vector = try field("associated_files", table.vector(Slot.associated_files, elementSize: 4)) {
        for index in 0..<vector.count {
            files.append(try field("associated_files[\(index)]", associatedFile(try vector.table(index))))
        }
    }
    return TensorMetadata(
        name: try field("name", table.string(Slot.name)) ?? "",
        description: try field("description", table.string(Slot.description)),
        content: try field("content", content(table.table(Slot.content))),
        normalization: normalization,
        range: try field("stats", table.table(Slot.stats).map(stats)),
        associatedFiles: files, otherProcessUnits: otherUnits)
}

private func content(_ table: FlatTable?) throws -> TensorMetadata.Content {
    guard let table else { return .none }
    typealias Tag = MetadataSchema.ContentProperties
    let tag = try table.unionType(MetadataSchema.Slot.Content.content_properties_type)
    switch Tag(rawValue: tag) {
    case .FeatureProperties?:
        return .feature
    case .ImageProperties?:
        guard let properties = try table.table(MetadataSchema.Slot.Content.content_properties) else { return .none }
        typealias Image = MetadataSchema.Slot.ImageProperties
        let space = try properties.scalar(Image.color_space, default: Int8(0))
        guard let colorSpace = MetadataSchema.ColorSpaceType(rawValue: space) else {
            throw H5ToLiteError(location: "color_space", "\(space) is not a color space of the schema")
        }
        let size = try properties.table(Image.default_size)
        let width = try size?.scalar(MetadataSchema.Slot.ImageSize.width, default: UInt32(0)) ?? 0
        let height = try size?.scalar(MetadataSchema.Slot.ImageSize.height, default: UInt32(0)) ?? 0
        return .image(colorSpace, width: Int(width), height: Int(height))
    case .NONE?:
        return .none
    default:
        return .other(tag)
    }
}

private func readNormalization(_ table: FlatTable) throws -> Normalization {
    typealias Slot = MetadataSchema.Slot.NormalizationOptions
    let mean = try floats(table, Slot.mean, "mean")
    let std = try floats(table, Slot.std, "std")
    guard !mean.isEmpty, mean.count == std.count else {
        throw H5ToLiteError(location: "NormalizationOptions", "\(mean.count) mean value(s) and \(std.count) std value(s); expected the same number, at least one")
    }
    guard std.allSatisfy({ $0 != 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
        throw H5ToLiteError(location: "NormalizationOptions.std", "a std of zero or a value that is not finite")
    }
    return Normalization(mean: mean, std: std)
}

private func stats(_ table: FlatTable) throws -> StatsRange {
    StatsRange(min: try floats(table, MetadataSchema.Slot.Stats.min, "min"),
               max: try floats(table, MetadataSchema.Slot.Stats.max, "max"))
}

private func floats(_ table: FlatTable, _ slot: Int, _ name: String) throws -> [Float] {
    try field(name, table.vector(slot, elementSize: 4)?.scalars(UInt32.self).map(Float.init(bitPattern:))) ?? []
}

private func associatedFile(_ table: FlatTable) throws -> AssociatedFile {
    typealias Slot = MetadataSchema.Slot.AssociatedFile
    let raw = try field("type", table.scalar(Slot.type, default: Int8(0)))
    guard let name = try field("name", table.string(Slot.name)), !name.isEmpty else {
        throw H5ToLiteError(location: "name", "an associated file needs a name")
    }
    return AssociatedFile(name: name, description: try field("description", table.string(Slot.description)),
                          type: MetadataSchema.AssociatedFileType(rawValue: raw) ?? .UNKNOWN,
                          locale: try field("locale", table.string(Slot.locale)))
}
