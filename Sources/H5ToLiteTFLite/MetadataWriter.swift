/// Encodes model metadata as the "M001" flatbuffer the TFLITE_METADATA buffer holds.
/// Everything written here is in the schema since 1.0.0, so `min_parser_version` stays 1.0.0.
public func encodeMetadata(_ metadata: ModelMetadata) -> [UInt8] {
    var b = FlatBufferBuilder(capacity: 4096)
    let inputs = metadata.inputs.map { writeTensorMetadata($0, &b) }
    let outputs = metadata.outputs.map { writeTensorMetadata($0, &b) }
    let inputVector = b.createVector(offsets: inputs)
    let outputVector = b.createVector(offsets: outputs)
    b.startTable()
    b.add(MetadataSchema.Slot.SubGraphMetadata.input_tensor_metadata, inputVector)
    b.add(MetadataSchema.Slot.SubGraphMetadata.output_tensor_metadata, outputVector)
    let subgraph = b.endTable()
    let subgraphs = b.createVector(offsets: [subgraph])
    let name = b.createString(metadata.name)
    let description = metadata.description.map { b.createString($0) }
    let version = metadata.version.map { b.createString($0) }
    let author = metadata.author.map { b.createString($0) }
    let license = metadata.license.map { b.createString($0) }
    let parser = metadata.minParserVersion.map { b.createString($0) }
    typealias Model = MetadataSchema.Slot.ModelMetadata
    b.startTable()
    b.add(Model.name, name)
    b.add(Model.description, description)
    b.add(Model.version, version)
    b.add(Model.subgraph_metadata, subgraphs)
    b.add(Model.author, author)
    b.add(Model.license, license)
    b.add(Model.min_parser_version, parser)
    return b.finish(root: b.endTable(), fileIdentifier: "M001")
}

private func writeTensorMetadata(_ tensor: TensorMetadata, _ b: inout FlatBufferBuilder) -> FBOffset {
    typealias Slot = MetadataSchema.Slot.TensorMetadata
    let name = b.createString(tensor.name)
    let description = tensor.description.map { b.createString($0) }
    let content = writeContent(tensor.content, &b)
    let units = tensor.normalization.map { b.createVector(offsets: [writeNormalization($0, &b)]) }
    let stats = tensor.range.map { range -> FBOffset in
        let max = b.createVector(range.max)
        let min = b.createVector(range.min)
        b.startTable()
        b.add(MetadataSchema.Slot.Stats.max, max)
        b.add(MetadataSchema.Slot.Stats.min, min)
        return b.endTable()
    }
    let files = tensor.associatedFiles.isEmpty ? nil : b.createVector(offsets: tensor.associatedFiles.map { writeFile($0, &b) })
    b.startTable()
    b.add(Slot.name, name)
    b.add(Slot.description, description)
    b.add(Slot.content, content)
    b.add(Slot.process_units, units)
    b.add(Slot.stats, stats)
    b.add(Slot.associated_files, files)
    return b.endTable()
}

private func writeContent(_ content: TensorMetadata.Content, _ b: inout FlatBufferBuilder) -> FBOffset? {
    typealias Tag = MetadataSchema.ContentProperties
    let tag: Tag
    let properties: FBOffset
    switch content {
    case .none, .other:
        return nil
    case .feature:
        b.startTable()
        (tag, properties) = (.FeatureProperties, b.endTable())
    case let .image(colorSpace, width, height):
        b.startTable()
        b.add(MetadataSchema.Slot.ImageSize.width, UInt32(width))
        b.add(MetadataSchema.Slot.ImageSize.height, UInt32(height))
        let size = b.endTable()
        b.startTable()
        b.add(MetadataSchema.Slot.ImageProperties.color_space, colorSpace.rawValue)
        b.add(MetadataSchema.Slot.ImageProperties.default_size, size)
        (tag, properties) = (.ImageProperties, b.endTable())
    }
    b.startTable()
    b.add(MetadataSchema.Slot.Content.content_properties_type, tag.rawValue)
    b.add(MetadataSchema.Slot.Content.content_properties, properties)
    return b.endTable()
}

private func writeNormalization(_ normalization: Normalization, _ b: inout FlatBufferBuilder) -> FBOffset {
    let mean = b.createVector(normalization.mean)
    let std = b.createVector(normalization.std)
    b.startTable()
    b.add(MetadataSchema.Slot.NormalizationOptions.mean, mean)
    b.add(MetadataSchema.Slot.NormalizationOptions.std, std)
    let options = b.endTable()
    b.startTable()
    b.add(MetadataSchema.Slot.ProcessUnit.options_type, MetadataSchema.ProcessUnitOptions.NormalizationOptions.rawValue)
    b.add(MetadataSchema.Slot.ProcessUnit.options, options)
    return b.endTable()
}

private func writeFile(_ file: AssociatedFile, _ b: inout FlatBufferBuilder) -> FBOffset {
    typealias Slot = MetadataSchema.Slot.AssociatedFile
    let name = b.createString(file.name)
    let description = file.description.map { b.createString($0) }
    let locale = file.locale.map { b.createString($0) }
    b.startTable()
    b.add(Slot.name, name)
    b.add(Slot.description, description)
    b.add(Slot.type, file.type.rawValue)
    b.add(Slot.locale, locale)
    return b.endTable()
}
