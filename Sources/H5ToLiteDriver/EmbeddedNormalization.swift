import H5ToLiteCore
import H5ToLiteData
import H5ToLiteIR

/// `--normalization-in-model`: puts the preprocessing's per-channel scaling into the model
/// as its first ops, pixels * (1 / std) + (-mean / std), so the written model reads 0..255
/// pixels and its metadata can say mean 0, std 1. MediaPipe's ImageClassifier takes only
/// one mean and std for every channel, so torch-preprocessed models run there only so.
/// Works on the graph as the passes left it: calibration and the passes saw the model as
/// Keras defines it.
///
///     input x: f32[1,64,64,3] -> conv(x, ...)
///  -> input x: f32[1,64,64,3]; t = mul(x, 1/std); x/normalized = add(t, -mean/std); conv(x/normalized, ...)
func embedNormalization(_ graph: Graph, _ preprocessing: Preprocessing?, file: String) throws -> Graph {
    var result = graph
    for (position, input) in graph.inputs.enumerated() where graph[input].shape.count == 4 {
        let value = graph[input]
        let channels = value.shape[3]
        guard let preprocessing, let scaling = preprocessing.normalization, channels == 3 || scaling.mean.count == 1 else {
            throw H5ToLiteError(file: file, location: "input '\(value.name)'",
                                "--normalization-in-model needs --preprocess torch, tf or none (for 1 channel: tf or none)")
        }
        guard value.dtype == .float32 else {
            throw H5ToLiteError(file: file, location: "input '\(value.name)'", "--normalization-in-model needs a float32 input (--io float32)")
        }
        let perChannel = { (values: [Float]) in scaling.mean.count == 1 ? [Float](repeating: values[0], count: channels) : values }
        let scale = result.addConstant(name: "\(value.name)/pixel_scale", shape: [channels],
                                       data: .float32(perChannel(scaling.std.map { 1 / $0 })))
        let offset = result.addConstant(name: "\(value.name)/pixel_offset", shape: [channels],
                                        data: .float32(perChannel(zip(scaling.mean, scaling.std).map { -$0 / $1 })))
        let pixels = result.addValue(Value(name: value.name, dtype: .float32, shape: value.shape))
        let scaled = result.addValue(Value(name: "\(value.name)/scaled", dtype: .float32, shape: value.shape))
        result[input].name = "\(value.name)/normalized"
        let origin = "\(preprocessing.rawValue) preprocessing"
        result.ops.insert(contentsOf: [Op(.binary(.mul, .none), inputs: [pixels, scale], outputs: [scaled], origin: origin),
                                       Op(.binary(.add, .none), inputs: [scaled, offset], outputs: [input], origin: origin)], at: 0)
        result.inputs[position] = pixels
    }
    return result
}
