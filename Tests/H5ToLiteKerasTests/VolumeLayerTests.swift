import Testing
import H5ToLiteCore
import H5ToLiteIR
@testable import H5ToLiteKeras

/// Conv3D and the 3D layers: what TFLite cannot express is refused by name, in one line.
@Suite struct VolumeLayerTests {
    func volumeLayer(_ className: String, _ config: String) -> String {
        #"{"module": "keras.layers", "class_name": "\#(className)", "config": {"name": "l", "trainable": true, "dtype": "float32", \#(config)}, "registered_name": null, "name": "l", "inbound_nodes": \#(kerasNode([kerasTensor("x")]))}"#
    }

    func message(_ className: String, _ config: String) throws -> String {
        importError(try configModel([volumeLayer(className, config)], output: "l", shape: [4, 6, 6, 2]))
    }

    @Test func groupedConv3DIsRefused() throws {
        let error = try message("Conv3D", #""filters": 4, "kernel_size": [3, 3, 3], "strides": [1, 1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1, 1], "groups": 2, "use_bias": false"#)
        #expect(error.contains("layer 'l'") && error.contains("groups=2 is not supported"))
        #expect(!error.contains("\n"))
    }

    @Test func channelsFirstIsRefused() throws {
        let conv = try message("Conv3D", #""filters": 4, "kernel_size": 3, "strides": 1, "padding": "valid", "data_format": "channels_first", "dilation_rate": 1, "groups": 1, "use_bias": false"#)
        #expect(conv.contains("layer 'l'") && conv.contains("data_format 'channels_first' is not supported"))
        for className in ["MaxPooling3D", "AveragePooling3D"] {
            let pool = try message(className, #""pool_size": [2, 2, 2], "strides": null, "padding": "valid", "data_format": "channels_first""#)
            #expect(pool.contains("layer 'l'") && pool.contains("data_format 'channels_first' is not supported"), "\(className)")
        }
        for className in ["GlobalAveragePooling3D", "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D"] {
            let other = try message(className, #""data_format": "channels_first", "size": 2, "padding": 1, "cropping": 1"#)
            #expect(other.contains("data_format 'channels_first' is not supported"), "\(className)")
        }
    }

    @Test func unsupportedOptionsAreRefused() throws {
        let causal = try message("Conv3D", #""filters": 4, "kernel_size": 3, "strides": 1, "padding": "causal", "data_format": "channels_last", "dilation_rate": 1, "groups": 1, "use_bias": false"#)
        #expect(causal.contains("layer 'l'") && causal.contains("padding 'causal' is not supported"))
        let strides = try message("Conv3D", #""filters": 4, "kernel_size": 3, "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": 1, "groups": 1, "use_bias": false"#)
        #expect(strides.contains("field 'strides' must be 3 integers"))
        let crop = try message("Cropping3D", #""cropping": [[2, 2], [0, 0], [0, 0]], "data_format": "channels_last""#)
        #expect(crop.contains("does not fit the input"))
    }

    /// Without data, the pools' lowering is visible in its shapes: depth and height pooled on
    /// [N, D, H, W*C], then width on [N, D'*H', W, C]; both interpreters run one image per batch entry.
    @Test func maxPooling3DLowersToTwoPoolsOverReshapedVolumes() throws {
        let graph = try importKeras(try configModel([volumeLayer("MaxPooling3D", #""pool_size": [2, 3, 2], "strides": [2, 1, 2], "padding": "same", "data_format": "channels_last""#)],
                                                    output: "l", shape: [5, 6, 7, 2]))
        #expect(graph.ops.map(\.kind.name) == ["reshape", "max_pool", "reshape", "max_pool", "reshape"])
        #expect(graph.ops.map { graph[$0.outputs[0]].shape } == [[1, 5, 6, 14], [1, 3, 6, 14], [1, 18, 7, 2], [1, 18, 4, 2], [1, 3, 6, 4, 2]])
        #expect(graph.ops[1].kind == .maxPool(Window(size: [2, 3], stride: [2, 1], padding: .same), .none))
        #expect(graph.ops[3].kind == .maxPool(Window(size: [1, 2], stride: [1, 2], padding: .same), .none))
    }
}
