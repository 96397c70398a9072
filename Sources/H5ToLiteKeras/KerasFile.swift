import Foundation
import H5ToLiteCore
import H5ToLiteIR
import ZIPFoundation

public enum KerasFormat: String, Sendable {
    case tfKerasH5 = "tf.keras 2 legacy .h5"
    case keras3H5 = "Keras 3 legacy .h5"
    case kerasArchive = "Keras 3 .keras archive"
}

/// A stored weight array, in Keras's own layout (Conv2D kernels HWIO, Dense kernels IO).
struct WeightArray {
    var name: String
    var shape: [Int]
    var values: [Float]
}

/// A Keras model file, read but not yet converted.
public struct KerasModel {
    public var file: String
    public var format: KerasFormat
    public var kerasVersion: String
    /// The model config as stored (`model_config` or `config.json`), from which `spec` is parsed.
    var configText: String
    var spec: ModelSpec
    /// Weights of every leaf layer, keyed by `weightKey` of its path of layer names.
    var weights: [String: [WeightArray]]

    public var name: String { spec.name }
}

func weightKey(_ path: [String]) -> String {
    path.joined(separator: " > ")
}

/// Debian's libhdf5 is the serial build, which is not thread-safe: one model loads at a time.
private let hdf5Lock = NSLock()

/// Reads a `.h5` (tf.keras 2 or Keras 3) or `.keras` file: config, then weights.
public func loadKerasModel(path: String) throws -> KerasModel {
    hdf5Lock.lock()
    defer { hdf5Lock.unlock() }
    do {
        guard FileManager.default.fileExists(atPath: path) else { throw H5ToLiteError("no such file") }
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4) ?? Data()
        if head == Data([0x50, 0x4B, 0x03, 0x04]) {
            return try loadArchive(path: path)
        }
        return try loadLegacyH5(path: path)
    } catch let error as H5ToLiteError {
        throw error.inFile(path)
    }
}

private func loadLegacyH5(path: String) throws -> KerasModel {
    let file = try HDF5File(path: path)
    guard let configText = try file.root.stringAttribute("model_config") else {
        throw H5ToLiteError("holds no model_config: it looks like a weights-only file (save_weights); save the whole model with model.save()")
    }
    let version = try file.root.stringAttribute("keras_version") ?? "unknown"
    let spec = try parseCheckedModel(configText, field: "model_config")
    let format: KerasFormat = version.hasPrefix("3") ? .keras3H5 : .tfKerasH5
    let weights = try readLegacyWeights(spec, root: try file.root.group("model_weights"))
    return KerasModel(file: path, format: format, kerasVersion: version, configText: configText, spec: spec, weights: weights)
}

private func loadArchive(path: String) throws -> KerasModel {
    let archive: Archive
    do {
        archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
    } catch {
        throw H5ToLiteError("not a readable .keras archive (\(error))")
    }
    let configText = String(decoding: try readMember(archive, "config.json"), as: UTF8.self)
    let metadata = try parseConfig(String(decoding: try readMember(archive, "metadata.json"), as: UTF8.self), field: "metadata.json")
    let spec = try parseCheckedModel(configText, field: "config.json")
    let weightsPath = FileManager.default.temporaryDirectory
        .appendingPathComponent("h5tolite-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).weights.h5").path
    defer { try? FileManager.default.removeItem(atPath: weightsPath) }
    try readMember(archive, "model.weights.h5").write(to: URL(fileURLWithPath: weightsPath))
    let weights: [String: [WeightArray]]
    do {
        let file = try HDF5File(path: weightsPath)
        weights = try readArchiveWeights(spec, group: file.root)
    } catch let error as H5ToLiteError {
        var inner = error
        inner.file = "\(path) (model.weights.h5)"
        throw inner
    }
    return KerasModel(file: path, format: .kerasArchive, kerasVersion: metadata["keras_version"]?.string ?? "unknown",
                      configText: configText, spec: spec, weights: weights)
}

/// Largest archive member read into memory; a `.keras` claiming more is refused, not unpacked.
private let maxMemberSize: UInt64 = 4 << 30

private func readMember(_ archive: Archive, _ name: String) throws -> Data {
    guard let entry = archive[name] else { throw H5ToLiteError("the archive has no \(name)") }
    guard entry.uncompressedSize <= maxMemberSize else {
        throw H5ToLiteError(location: name, "claims \(entry.uncompressedSize) bytes, over the \(maxMemberSize) byte limit")
    }
    var data = Data()
    do {
        _ = try archive.extract(entry, skipCRC32: false) { chunk in
            data.append(chunk)
            if UInt64(data.count) > entry.uncompressedSize {
                throw H5ToLiteError(location: name, "unpacks to more bytes than its header says")
            }
        }
    } catch let error as H5ToLiteError {
        throw error
    } catch {
        throw H5ToLiteError(location: name, "cannot be unpacked (\(error))")
    }
    return data
}

private func parseConfig(_ text: String, field: String) throws -> JSON {
    do {
        return try JSON.parse(text)
    } catch {
        throw H5ToLiteError(location: field, "is not valid JSON")
    }
}

/// Parses a model config (the `model_config` attribute or `config.json`) and checks its
/// layer classes, without weights: the entry point the config fuzzer drives.
public func checkModelConfig(_ text: String) throws {
    _ = try parseCheckedModel(text, field: "model_config")
}

func parseCheckedModel(_ text: String, field: String) throws -> ModelSpec {
    let spec = try parseModel(try parseConfig(text, field: field))
    try checkLayerClasses(spec)
    return spec
}
