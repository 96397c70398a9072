/// Resizes interleaved float pixels with bilinear interpolation as TensorFlow's
/// `tf.image.resize(method="bilinear", antialias=False)` does, and so Keras'
/// `image_dataset_from_directory`: half-pixel centres (source coordinate
/// `(x + 0.5) * inWidth / outWidth - 0.5`), neighbours clamped to the edge, no
/// antialiasing filter when shrinking.
func resizeBilinear(_ image: Image, height: Int, width: Int) -> Image {
    if image.height == height && image.width == width { return image }
    let channels = image.channels
    let xs = interpolation(from: image.width, to: width)
    let ys = interpolation(from: image.height, to: height)
    var output = [Float](repeating: 0, count: height * width * channels)
    image.pixels.withUnsafeBufferPointer { input in
        for (y, vertical) in ys.enumerated() {
            let top = vertical.lower * image.width * channels
            let bottom = vertical.upper * image.width * channels
            for (x, horizontal) in xs.enumerated() {
                let left = horizontal.lower * channels
                let right = horizontal.upper * channels
                for channel in 0..<channels {
                    let topLeft = input[top + left + channel], topRight = input[top + right + channel]
                    let bottomLeft = input[bottom + left + channel], bottomRight = input[bottom + right + channel]
                    let upper = topLeft + (topRight - topLeft) * horizontal.fraction
                    let lower = bottomLeft + (bottomRight - bottomLeft) * horizontal.fraction
                    output[(y * width + x) * channels + channel] = upper + (lower - upper) * vertical.fraction
                }
            }
        }
    }
    return Image(width: width, height: height, channels: channels, pixels: output)
}

/// For each output coordinate: the two source neighbours and the weight of the upper one,
/// computed in float32 as TensorFlow's `compute_interpolation_weights` does.
private func interpolation(from inSize: Int, to outSize: Int) -> [(lower: Int, upper: Int, fraction: Float)] {
    let scale = Float(inSize) / Float(outSize)
    return (0..<outSize).map { index in
        let source = (Float(index) + 0.5) * scale - 0.5
        let floor = source.rounded(.down)
        return (max(Int(floor), 0), min(Int(source.rounded(.up)), inSize - 1), source - floor)
    }
}
