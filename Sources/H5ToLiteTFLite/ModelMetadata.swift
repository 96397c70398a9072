/// TFLite model metadata (`schema/metadata_schema.fbs`): what the Task Library, MediaPipe
/// and Android Studio read to feed a model and name its outputs. Holds the parts an
/// image classifier uses; the reader keeps whatever else a file has as `otherContent`
/// and `otherProcessUnits` counts, so `inspect` can still mention it.
public struct ModelMetadata: Equatable, Sendable {
    public var name: String
    public var description: String?
    public var version: String?
    public var author: String?
    public var license: String?
    /// One entry per subgraph input and output, in the subgraph's order.
    public var inputs: [TensorMetadata]
    public var outputs: [TensorMetadata]
    public var minParserVersion: String?

    public init(name: String, description: String? = nil, version: String? = nil, author: String? = nil, license: String? = nil,
                inputs: [TensorMetadata], outputs: [TensorMetadata], minParserVersion: String? = "1.0.0") {
        self.name = name
        self.description = description
        self.version = version
        self.author = author
        self.license = license
        self.inputs = inputs
        self.outputs = outputs
        self.minParserVersion = minParserVersion
    }

    /// Every file the metadata names, model-wide ones excluded (h5tolite writes none).
    public var associatedFiles: [AssociatedFile] {
        (inputs + outputs).flatMap(\.associatedFiles)
    }
}

public struct TensorMetadata: Equatable, Sendable {
    public enum Content: Equatable, Sendable {
        case none
        case feature
        case image(MetadataSchema.ColorSpaceType, width: Int, height: Int)
        /// Another kind of content (bounding boxes, audio), by its union tag.
        case other(UInt8)
    }

    public var name: String
    public var description: String?
    public var content: Content
    /// `NormalizationOptions`: the model reads (pixel - mean) / std, per channel.
    public var normalization: Normalization?
    /// `Stats`: the range of the tensor's values, per channel or one for all.
    public var range: StatsRange?
    public var associatedFiles: [AssociatedFile]
    /// Process units of kinds other than normalization (score calibration, tokenizers).
    public var otherProcessUnits: Int

    public init(name: String, description: String? = nil, content: Content = .none, normalization: Normalization? = nil,
                range: StatsRange? = nil, associatedFiles: [AssociatedFile] = [], otherProcessUnits: Int = 0) {
        self.name = name
        self.description = description
        self.content = content
        self.normalization = normalization
        self.range = range
        self.associatedFiles = associatedFiles
        self.otherProcessUnits = otherProcessUnits
    }
}

public struct Normalization: Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// Applies (x - mean) / std in place to interleaved pixels with `channels` channels;
    /// a single mean and std apply to every channel, as the schema says.
    public func apply(to pixels: inout [Float], channels: Int) {
        for index in pixels.indices {
            let channel = mean.count == 1 ? 0 : index % channels
            pixels[index] = (pixels[index] - mean[channel]) / std[channel]
        }
    }
}

public struct StatsRange: Equatable, Sendable {
    public var min: [Float]
    public var max: [Float]

    public init(min: [Float], max: [Float]) {
        self.min = min
        self.max = max
    }
}

public struct AssociatedFile: Equatable, Sendable {
    public var name: String
    public var description: String?
    public var type: MetadataSchema.AssociatedFileType
    public var locale: String?

    public init(name: String, description: String? = nil, type: MetadataSchema.AssociatedFileType, locale: String? = nil) {
        self.name = name
        self.description = description
        self.type = type
        self.locale = locale
    }
}

/// Metadata with the contents of the files it names, as one .tflite file carries them.
public struct PackedMetadata: Equatable, Sendable {
    public var metadata: ModelMetadata
    /// (name, contents) of each associated file, in the order they are packed.
    public var files: [(name: String, contents: [UInt8])]

    public init(metadata: ModelMetadata, files: [(name: String, contents: [UInt8])]) {
        self.metadata = metadata
        self.files = files
    }

    public static func == (a: PackedMetadata, b: PackedMetadata) -> Bool {
        a.metadata == b.metadata && a.files.map(\.name) == b.files.map(\.name) && a.files.map(\.contents) == b.files.map(\.contents)
    }

    /// The lines of the first TENSOR_AXIS_LABELS file of output `index`, if it has one.
    public func labels(ofOutput index: Int) -> [String]? {
        guard index < metadata.outputs.count,
              let file = metadata.outputs[index].associatedFiles.first(where: { $0.type == .TENSOR_AXIS_LABELS }),
              let contents = files.first(where: { $0.name == file.name })?.contents else { return nil }
        return String(decoding: contents, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
            .reversed().drop(while: \.isEmpty).reversed()
    }
}

/// The name of the Model.metadata entry whose buffer holds the metadata flatbuffer.
public let metadataEntryName = "TFLITE_METADATA"
