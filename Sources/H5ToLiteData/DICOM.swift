import Foundation
import H5ToLiteCore

/// Decodes a single-frame DICOM image: uncompressed (implicit or explicit VR little
/// endian) or JPEG baseline (1.2.840.10008.1.2.4.50) pixel data.
///
/// Monochrome pixels go through the standard's display pipeline (PS3.3 C.11):
/// 1. stored values, masked to BitsStored at HighBit, sign-extended when
///    PixelRepresentation is 1;
/// 2. the modality rescale `value * RescaleSlope + RescaleIntercept`;
/// 3. the first WindowCenter/WindowWidth pair, through VOILUTFunction (LINEAR by
///    default, LINEAR_EXACT, SIGMOID), to 0...255 unrounded. Without a window, 8-bit
///    unsigned data with no rescale is already on that scale and is taken as it is
///    (what pydicom's pixel_array gives, and what RSNA training pipelines feed);
///    anything else is min-max normalised to 0...255;
/// 4. MONOCHROME1 (minimum is white) is inverted, `255 - y`.
/// RGB pixels (8-bit, interleaved or planar; YBR in JPEG, converted by libjpeg) are
/// taken as they are.
func decodeDICOM(_ bytes: [UInt8]) throws -> Image {
    let dataSet = try DICOMDataSet(bytes)
    let layout = try PixelLayout(dataSet)
    let samples = dataSet.encapsulated ? try jpegSamples(dataSet, layout) : try nativeSamples(dataSet, layout)
    guard layout.samplesPerPixel == 1 else {
        return Image(width: layout.columns, height: layout.rows, channels: 3, pixels: samples)
    }
    let display = try displayValues(samples, dataSet, layout)
    return Image(width: layout.columns, height: layout.rows, channels: 1, pixels: display)
}

/// The image pixel module attributes that say how to read the pixel data.
struct PixelLayout {
    let rows: Int
    let columns: Int
    let samplesPerPixel: Int
    let photometric: String
    let bitsAllocated: Int
    let bitsStored: Int
    let highBit: Int
    let signed: Bool
    let planar: Bool

    init(_ dataSet: DICOMDataSet) throws {
        guard let rows = dataSet.uint16(.rows), let columns = dataSet.uint16(.columns) else {
            throw H5ToLiteError("the DICOM file has no Rows or Columns")
        }
        guard rows > 0, columns > 0 else { throw H5ToLiteError("the DICOM image is \(columns)x\(rows)") }
        guard rows * columns <= maxPixelCount else { throw H5ToLiteError("the DICOM image has too many pixels (\(columns)x\(rows))") }
        if let frames = try dataSet.numbers(.numberOfFrames)?.first, frames > 1 {
            throw H5ToLiteError("multi-frame DICOM images (\(Int(frames)) frames) are not supported")
        }
        self.rows = rows
        self.columns = columns
        samplesPerPixel = dataSet.uint16(.samplesPerPixel) ?? 1
        photometric = dataSet.string(.photometricInterpretation)?.uppercased() ?? "MONOCHROME2"
        bitsAllocated = dataSet.uint16(.bitsAllocated) ?? 8
        bitsStored = dataSet.uint16(.bitsStored) ?? bitsAllocated
        highBit = dataSet.uint16(.highBit) ?? bitsStored - 1
        signed = dataSet.uint16(.pixelRepresentation) == 1
        planar = dataSet.uint16(.planarConfiguration) == 1
        let colors = dataSet.encapsulated ? ["RGB", "YBR_FULL", "YBR_FULL_422"] : ["RGB"]
        switch (samplesPerPixel, photometric) {
        case (1, "MONOCHROME1"), (1, "MONOCHROME2"): break
        case (3, let name) where colors.contains(name): break
        default:
            throw H5ToLiteError("unsupported DICOM photometric interpretation \(photometric) with \(samplesPerPixel) samples per pixel")
        }
        guard bitsAllocated == 8 || (bitsAllocated == 16 && samplesPerPixel == 1) else {
            throw H5ToLiteError("unsupported DICOM BitsAllocated \(bitsAllocated) for \(photometric)")
        }
        guard (1...bitsAllocated).contains(bitsStored), (bitsStored - 1..<bitsAllocated).contains(highBit) else {
            throw H5ToLiteError("inconsistent DICOM BitsStored \(bitsStored) / HighBit \(highBit) for BitsAllocated \(bitsAllocated)")
        }
    }

    var sampleCount: Int { rows * columns * samplesPerPixel }
}

/// Stored values of uncompressed pixel data, interleaved.
private func nativeSamples(_ dataSet: DICOMDataSet, _ layout: PixelLayout) throws -> [Float] {
    let range = dataSet.pixelData[0]
    let bytesPerSample = layout.bitsAllocated / 8
    guard range.count >= layout.sampleCount * bytesPerSample else {
        throw H5ToLiteError("DICOM pixel data holds \(range.count) bytes, \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel) samples of \(layout.bitsAllocated) bits need \(layout.sampleCount * bytesPerSample)")
    }
    let bytes = dataSet.bytes
    let start = range.lowerBound
    let shift = layout.highBit + 1 - layout.bitsStored
    let mask = (1 << layout.bitsStored) - 1
    let signBit = 1 << (layout.bitsStored - 1)
    var samples = (0..<layout.sampleCount).map { index -> Float in
        var raw = bytesPerSample == 2 ? Int(bytes[start + 2 * index]) | Int(bytes[start + 2 * index + 1]) << 8 : Int(bytes[start + index])
        raw = (raw >> shift) & mask
        if layout.signed && raw & signBit != 0 { raw -= 1 << layout.bitsStored }
        return Float(raw)
    }
    if layout.samplesPerPixel == 3 && layout.planar {
        let plane = layout.rows * layout.columns
        samples = (0..<layout.sampleCount).map { samples[($0 % 3) * plane + $0 / 3] }
    }
    return samples
}

/// Decoded samples of JPEG baseline pixel data: the fragments joined into one stream.
private func jpegSamples(_ dataSet: DICOMDataSet, _ layout: PixelLayout) throws -> [Float] {
    let stream = dataSet.pixelData.flatMap { dataSet.bytes[$0] }
    let image: Image
    do {
        image = try decodeJPEG(stream)
    } catch let error as H5ToLiteError {
        throw H5ToLiteError("DICOM pixel data: \(error.description)")
    }
    guard image.width == layout.columns, image.height == layout.rows, image.channels == layout.samplesPerPixel else {
        throw H5ToLiteError("the DICOM JPEG is \(image.width)x\(image.height)x\(image.channels), the header says \(layout.columns)x\(layout.rows)x\(layout.samplesPerPixel)")
    }
    return image.pixels
}

/// Steps 2-4 of the display pipeline for one channel of stored values.
private func displayValues(_ stored: [Float], _ dataSet: DICOMDataSet, _ layout: PixelLayout) throws -> [Float] {
    let slope = try dataSet.numbers(.rescaleSlope)?.first ?? 1
    let intercept = try dataSet.numbers(.rescaleIntercept)?.first ?? 0
    let modality = stored.map { Double($0) * slope + intercept }
    var display: [Double]
    if let window = try Window(dataSet) {
        display = modality.map(window.apply)
    } else if layout.bitsStored == 8 && !layout.signed && slope == 1 && intercept == 0 {
        display = modality
    } else {
        let low = modality.min() ?? 0
        let high = modality.max() ?? 0
        display = high > low ? modality.map { ($0 - low) / (high - low) * 255 } : modality.map { _ in 0 }
    }
    if layout.photometric == "MONOCHROME1" {
        display = display.map { 255 - $0 }
    }
    return display.map(Float.init)
}

/// The first VOI window of the data set, mapping modality values to 0...255.
struct Window {
    enum Function: String {
        case linear = "LINEAR", linearExact = "LINEAR_EXACT", sigmoid = "SIGMOID"
    }

    let center: Double
    let width: Double
    let function: Function

    /// Nil when the data set has no window, or one whose width its function cannot use
    /// (below 1 for LINEAR, not positive for the others).
    init?(_ dataSet: DICOMDataSet) throws {
        guard let center = try dataSet.numbers(.windowCenter)?.first,
              let width = try dataSet.numbers(.windowWidth)?.first else { return nil }
        let name = dataSet.string(.voiLUTFunction)?.uppercased() ?? ""
        guard let function = name.isEmpty ? .linear : Function(rawValue: name) else {
            throw H5ToLiteError("unsupported DICOM VOI LUT function \(name)")
        }
        guard function == .linear ? width >= 1 : width > 0 else { return nil }
        self.center = center
        self.width = width
        self.function = function
    }

    func apply(_ x: Double) -> Double {
        switch function {
        case .linear:
            if x <= center - 0.5 - (width - 1) / 2 { return 0 }
            if x > center - 0.5 + (width - 1) / 2 { return 255 }
            return ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
        case .linearExact:
            if x <= center - width / 2 { return 0 }
            if x > center + width / 2 { return 255 }
            return ((x - center) / width + 0.5) * 255
        case .sigmoid:
            return 255 / (1 + exp(-4 * (x - center) / width))
        }
    }
}
