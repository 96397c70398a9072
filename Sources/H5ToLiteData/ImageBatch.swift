import Foundation
import H5ToLiteCore

/// Loads images as one N x H x W x C float32 batch for a model input, the way Keras'
/// `image_dataset_from_directory` followed by `preprocess_input` would:
/// 1. decode (`loadImage`);
/// 2. resize to height x width (`resizeBilinear`: TensorFlow's bilinear, half-pixel
///    centres, no antialiasing), unrounded;
/// 3. match the channels: gray is replicated to RGB for 3-channel models, RGB becomes
///    gray for 1-channel models with the Rec. 601 weights 0.299 R + 0.587 G + 0.114 B
///    (PIL's `convert("L")` and libjpeg's), unrounded (both steps are linear, so
///    their order only changes rounding);
/// 4. apply `preprocessing`.
/// `progress` is called with (images done, total) after each image.
public func loadImageBatch(
    paths: [String], height: Int, width: Int, channels: Int, preprocessing: Preprocessing,
    progress: ((Int, Int) -> Void)? = nil
) throws -> Tensor {
    guard height > 0, width > 0, channels == 1 || channels == 3 else {
        throw H5ToLiteError("cannot load images for a \(height)x\(width)x\(channels) input: it needs 1 or 3 channels")
    }
    // Refuse a preprocessing that cannot work on this input before reading any file.
    var noPixels: [Float] = []
    try preprocessing.apply(to: &noPixels, channels: channels)
    var data: [Float] = []
    data.reserveCapacity(paths.count * height * width * channels)
    for (index, path) in paths.enumerated() {
        let decoded = try loadImage(path: path)
        // Resizing is the costly step: do it on whichever side has fewer channels.
        var image = decoded.channels > channels
            ? resizeBilinear(converting(decoded, to: channels), height: height, width: width)
            : converting(resizeBilinear(decoded, height: height, width: width), to: channels)
        try preprocessing.apply(to: &image.pixels, channels: channels)
        data += image.pixels
        progress?(index + 1, paths.count)
    }
    return Tensor(shape: [paths.count, height, width, channels], data: data)
}

func converting(_ image: Image, to channels: Int) -> Image {
    switch (image.channels, channels) {
    case (1, 3):
        return Image(width: image.width, height: image.height, channels: 3, pixels: image.pixels.flatMap { [$0, $0, $0] })
    case (3, 1):
        let gray = stride(from: 0, to: image.pixels.count, by: 3).map { index -> Float in
            let red = 0.299 * image.pixels[index], green = 0.587 * image.pixels[index + 1]
            return red + green + 0.114 * image.pixels[index + 2]
        }
        return Image(width: image.width, height: image.height, channels: 1, pixels: gray)
    default:
        return image
    }
}

/// The image files under `folder`, searched recursively (ChestX-ray14 spreads its PNGs
/// over images_001/ ... images_012/): `.png`, `.jpg`, `.jpeg` and `.dcm` files (any
/// case), and files without an extension that carry DICOM's "DICM" preamble, as
/// PACS exports often do. Hidden files and folders are skipped; symbolic links to
/// files are listed, links to folders are not followed. Paths are sorted by
/// their path below `folder`, byte by byte, so the order is the same everywhere.
public func imageFiles(in folder: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw H5ToLiteError(file: folder, "no such folder")
    }
    guard let walker = FileManager.default.enumerator(atPath: folder) else {
        throw H5ToLiteError(file: folder, "cannot list the folder")
    }
    var relativePaths: [String] = []
    while let relativePath = walker.nextObject() as? String {
        let name = (relativePath as NSString).lastPathComponent
        if name.hasPrefix(".") {
            walker.skipDescendants()
            continue
        }
        let path = (folder as NSString).appendingPathComponent(relativePath)
        guard isFile(path, type: walker.fileAttributes?[.type] as? FileAttributeType) else { continue }
        let fileExtension = (name as NSString).pathExtension.lowercased()
        if ["png", "jpg", "jpeg", "dcm"].contains(fileExtension) || (fileExtension.isEmpty && startsWithDICOMPreamble(path)) {
            relativePaths.append(relativePath)
        }
    }
    return relativePaths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        .map { (folder as NSString).appendingPathComponent($0) }
}

/// Regular files, and symbolic links to them (dataset splits are often made of links;
/// links to folders are not followed, so there are no cycles).
private func isFile(_ path: String, type: FileAttributeType?) -> Bool {
    switch type {
    case .typeRegular?:
        return true
    case .typeSymbolicLink?:
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue
    default:
        return false
    }
}

private func startsWithDICOMPreamble(_ path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let head = (try? handle.read(upToCount: 132)) ?? Data()
    return hasDICOMPreamble([UInt8](head))
}
