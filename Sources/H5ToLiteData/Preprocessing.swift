import H5ToLiteCore
/// The input scaling of keras.applications' `preprocess_input`, applied to
/// channels-last pixels on the 0...255 scale.
public enum Preprocessing: String, Sendable, CaseIterable {
    /// `x / 255`, then the ImageNet mean [0.485, 0.456, 0.406] subtracted and the
    /// result divided by the std [0.229, 0.224, 0.225], per RGB channel (DenseNet).
    case torch
    /// `x / 127.5 - 1`, to [-1, 1] (MobileNet, InceptionV3, Xception, ResNetV2).
    case tf
    /// RGB → BGR, then the mean [103.939, 116.779, 123.68] subtracted per BGR
    /// channel (VGG, ResNet50).
    case caffe
    /// Pixels stay on 0...255 (EfficientNet, whose model rescales itself).
    case none

    /// The same scaling as (pixel - mean) / std per RGB channel on 0...255 pixels, the form
    /// TFLite metadata's NormalizationOptions gives runtimes; nil for caffe, whose swap to
    /// BGR no mean and std can say.
    public var normalization: (mean: [Float], std: [Float])? {
        switch self {
        case .none: return ([0], [1])
        case .tf: return ([127.5], [127.5])
        // 255 times the ImageNet mean and std above, exactly.
        case .torch: return ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
        case .caffe: return nil
        }
    }

    /// Applies the scaling in place to interleaved pixels with `channels` channels.
    /// torch and caffe are per RGB channel, so they need 3.
    public func apply(to pixels: inout [Float], channels: Int) throws {
        guard channels > 0, pixels.count % channels == 0 else {
            throw H5ToLiteError("\(pixels.count) values are not whole pixels of \(channels) channel(s)")
        }
        switch self {
        case .none:
            return
        case .tf:
            for index in pixels.indices { pixels[index] = pixels[index] / 127.5 - 1 }
        case .torch, .caffe:
            guard channels == 3 else {
                throw H5ToLiteError("\(rawValue) preprocessing works on RGB images; the model takes \(channels) channel(s)")
            }
            if self == .caffe {
                let mean: [Float] = [103.939, 116.779, 123.68]
                for pixel in stride(from: 0, to: pixels.count, by: 3) {
                    (pixels[pixel], pixels[pixel + 2]) = (pixels[pixel + 2], pixels[pixel])
                    for channel in 0..<3 { pixels[pixel + channel] -= mean[channel] }
                }
            } else {
                let mean: [Float] = [0.485, 0.456, 0.406]
                let std: [Float] = [0.229, 0.224, 0.225]
                for index in pixels.indices {
                    pixels[index] = (pixels[index] / 255 - mean[index % 3]) / std[index % 3]
                }
            }
        }
    }
}
