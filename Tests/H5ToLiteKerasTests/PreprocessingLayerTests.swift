import Testing
import H5ToLiteIR
@testable import H5ToLiteKeras

@Suite struct PreprocessingLayerTests {
    func layer(_ className: String, _ config: String) -> String {
        #"{"module": "keras.layers", "class_name": "\#(className)", "config": {"name": "l", "trainable": true, "dtype": "float32"\#(config)}, "registered_name": null, "name": "l", "inbound_nodes": \#(kerasNode([kerasTensor("x")]))}"#
    }

    func graph(_ className: String, _ config: String, shape: [Int] = [4, 4, 3], weights: [String: [WeightArray]] = [:]) throws -> Graph {
        try importKeras(try configModel([layer(className, config)], output: "l", shape: shape, weights: weights))
    }

    /// Keras: (x - mean) / max(sqrt(variance), 1e-7); a zero variance divides by 1e-7, not by 0.
    @Test func normalizationFollowsKerasEpsilon() throws {
        let g = try graph("Normalization", #", "axis": -1, "mean": [1.0, 2.0, 3.0], "variance": [4.0, 0.0, 0.25], "invert": false"#)
        #expect(g.ops.map(\.kind) == [.binary(.sub, .none), .binary(.mul, .none)])
        #expect(constantValues(g, g.ops[0]) == [[1, 2, 3]])
        #expect(constantValues(g, g.ops[1]) == [[0.5, 1e7, 2]])
    }

    @Test func invertedNormalizationScalesThenShifts() throws {
        let g = try graph("Normalization", #", "axis": -1, "mean": [1.0, 2.0, 3.0], "variance": [4.0, 1.0, 0.25], "invert": true"#)
        #expect(g.ops.map(\.kind) == [.binary(.mul, .none), .binary(.add, .none)])
        #expect(constantValues(g, g.ops[0]) == [[2, 1, 0.5]])
        #expect(constantValues(g, g.ops[1]) == [[1, 2, 3]])
    }

    /// Without a mean in the config, Keras stores mean, variance and count as weights.
    @Test func normalizationReadsStoredStatistics() throws {
        let stored = [WeightArray(name: "mean", shape: [3], values: [0, 1, 2]),
                      WeightArray(name: "variance", shape: [3], values: [1, 4, 16]),
                      WeightArray(name: "count", shape: [], values: [10])]
        let g = try graph("Normalization", #", "axis": [3], "mean": null, "variance": null"#, weights: [weightKey(["l"]): stored])
        #expect(constantValues(g, g.ops[0]) == [[0, 1, 2]])
        #expect(constantValues(g, g.ops[1]) == [[1, 0.5, 0.25]])
    }

    @Test func normalizationOverHeightAndWidthBroadcasts() throws {
        let g = try graph("Normalization", #", "axis": [1, 2], "mean": 0.5, "variance": 1.0"#, shape: [2, 2, 3])
        #expect(g[g.ops[0].inputs[1]].shape == [1, 2, 2, 1])
    }

    /// tf.image.resize: half-pixel centres for nearest as for bilinear.
    @Test func resizingUsesHalfPixelCentres() throws {
        for mode in ["bilinear", "nearest"] {
            let g = try graph("Resizing", #", "height": 3, "width": 5, "interpolation": "\#(mode)", "crop_to_aspect_ratio": false"#)
            #expect(g.ops.map(\.kind) == [.resize(ResizeMode(rawValue: mode)!, size: [3, 5], alignCorners: false, halfPixelCenters: true)])
        }
        let refused = importError(try configModel([layer("Resizing", #", "height": 3, "width": 5, "crop_to_aspect_ratio": true"#)], output: "l"))
        #expect(refused.contains("Resizing with crop_to_aspect_ratio=True is not supported"))
        let bicubic = importError(try configModel([layer("Resizing", #", "height": 3, "width": 5, "interpolation": "bicubic""#)], output: "l"))
        #expect(bicubic.contains("interpolation 'bicubic' is not supported"))
    }

    /// Keras rounds the offsets down: (7 - 4) / 2 = 1 rows above, (6 - 3) / 2 = 1 column left.
    @Test func centerCropRoundsOffsetsDown() throws {
        let g = try graph("CenterCrop", #", "height": 4, "width": 3"#, shape: [7, 6, 2])
        #expect(g.ops.map(\.kind) == [.stridedSlice(begin: [0, 1, 1, 0], end: [1, 5, 4, 2], strides: [1, 1, 1, 1])])
        let larger = importError(try configModel([layer("CenterCrop", #", "height": 9, "width": 3"#)], output: "l", shape: [7, 6, 2]))
        #expect(larger.contains("CenterCrop to 9x3 of a smaller 7x6 input"))
    }
}
