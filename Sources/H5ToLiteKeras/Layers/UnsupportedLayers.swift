import H5ToLiteCore

/// The one-line refusal of a layer class h5tolite has no importer for. It tells apart a layer
/// Keras itself provides (not supported yet) from a custom one, whose computation is Python
/// code that the file does not hold in a form h5tolite could convert.
func unsupportedLayer(_ layer: LayerNode) -> H5ToLiteError {
    let location = "layer '\(layer.name)'"
    // Keras 3's legacy HDF5 writer puts a custom class's registered name ("package>Class") in class_name.
    if let separator = layer.className.lastIndex(of: ">") {
        return customLayer(String(layer.className[layer.className.index(after: separator)...]),
                           registeredAs: layer.className, location: location)
    }
    let fromKeras = layer.module.map { $0 == "keras" || $0.hasPrefix("keras.") || $0.hasPrefix("tf_keras.") }
    let registeredAsOwn = layer.registeredName.map { $0 == layer.className } ?? true
    if fromKeras ?? (builtinKerasLayers.contains(layer.className) && registeredAsOwn) {
        let what = builtinKerasLayers.contains(layer.className) || layer.module == "keras.layers"
            ? "built-in Keras layer" : "Keras layer from '\(layer.module ?? "keras")'"
        return H5ToLiteError(location: location, "'\(layer.className)' is a \(what) h5tolite does not support yet")
    }
    return customLayer(layer.className, registeredAs: layer.registeredName, location: location)
}

private func customLayer(_ className: String, registeredAs registered: String?, location: String) -> H5ToLiteError {
    H5ToLiteError(location: location,
                  "custom layer class '\(className)'\(registered.map { " (registered as '\($0)')" } ?? ""): its computation is Python code, which h5tolite does not convert; rebuild the model from built-in layers")
}

/// Every layer class `keras.layers` (Keras 3.15) and `tf_keras.layers` (2.21) export, for files
/// whose config does not say which module a class comes from (tf.keras 2.12 and older).
let builtinKerasLayers: Set<String> = [
    "AbstractRNNCell", "Activation", "ActivityRegularization", "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D", "Add", "AdditiveAttention", "AlphaDropout", "Attention", "AugMix", "AutoContrast",
    "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "BatchNormalization",
    "Bidirectional", "CategoryEncoding", "CenterCrop", "Concatenate",
    "ContrastLimitedAdaptiveHistogramEqualization", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose",
    "Conv3D", "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Cropping1D", "Cropping2D",
    "Cropping3D", "CutMix", "Dense", "DenseFeatures", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization",
    "Dot", "Dropout", "ELU", "EinsumDense", "Embedding", "Equalization", "Flatten", "FlaxLayer", "GRU",
    "GRUCell", "GaussianDropout", "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GroupNormalization", "GroupedQueryAttention", "HashedCrossing", "Hashing", "Identity", "InputLayer",
    "IntegerLookup", "JaxLayer", "LSTM", "LSTMCell", "Lambda", "LayerNormalization", "LeakyReLU",
    "LocallyConnected1D", "LocallyConnected2D", "Masking", "MaxNumBoundingBoxes", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "Maximum", "MelSpectrogram", "Minimum", "MixUp", "MultiHeadAttention",
    "Multiply", "Normalization", "PReLU", "Permute", "Pipeline", "RMSNormalization", "RNN", "RandAugment",
    "RandomBrightness", "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop",
    "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHeight", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation",
    "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation", "RandomWidth", "RandomZoom",
    "ReLU", "RepeatVector", "Rescaling", "Reshape", "Resizing", "ReversibleEmbedding", "STFTSpectrogram",
    "SeparableConv1D", "SeparableConv2D", "SimpleRNN", "SimpleRNNCell", "Softmax", "Solarization",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "SpectralNormalization", "StackedRNNCells",
    "StringLookup", "Subtract", "TFSMLayer", "TextVectorization", "ThresholdedReLU", "TimeDistributed",
    "TorchModuleWrapper", "UnitNormalization", "UpSampling1D", "UpSampling2D", "UpSampling3D", "Wrapper",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
]
