#!/usr/bin/env python3
"""Generate the golden Keras fixtures used by h5tolite's tests.

HOW TO RUN (from the repository root, with the pinned stack):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install -r golden/requirements.txt
    /tmp/tfvenv/bin/python golden/generate.py            # all models
    /tmp/tfvenv/bin/python golden/generate.py --only mini_densenet,layers_conv

CI NEVER RUNS THIS SCRIPT. TensorFlow is not available on the CI machine; the
outputs (golden/models/*, golden/bad/*) are committed to the repository and the
Swift tests only read them.  Re-run it only when a fixture must change, then
commit the regenerated files together with the script change.

What it writes, for every model NAME, in golden/models/NAME/:
    tfkeras.h5           built + saved with tf_keras (legacy tf.keras 2.x HDF5)
    keras3.h5            built + saved with Keras 3 (legacy HDF5 writer)
    model.keras          Keras 3 native zip archive
    input.npy            float32 (2, H, W, C), seeded
    output_tfkeras.npy   tf_keras model.predict(input)
    output_keras3.npy    Keras 3 model.predict(input)
    tf.tflite            tf.lite.TFLiteConverter.from_keras_model(<Keras 3 model>), float32
    info.json            name, input shape, layer classes, notes, measured diffs
and, for the models with a `quant` entry (chexnet_nested, mini_densenet, mini_mobilenetv3, mini_efficientnet,
mini_inception, mini_mobilenetv2, layers_conv), TensorFlow's post-training
quantization of the same Keras 3 model (see QUANT_VARIANTS / convert_quantized):
    calibration.npy      float32 (32, H, W, C), RandomState(CALIB_SEED).normal (x data_scale)
    tf_float16.tflite    optimizations=[DEFAULT], supported_types=[tf.float16]
    tf_dynamic.tflite    optimizations=[DEFAULT] (dynamic range, no representative dataset)
    tf_int8.tflite       DEFAULT + representative_dataset (calibration.npy, one sample per
                         step) + supported_ops=[TFLITE_BUILTINS_INT8]; float32 input/output
    tf_int8_io.tflite    (chexnet_nested only) same + inference_input/output_type=tf.int8
    litert_<variant>.npy LiteRT's output for input.npy (batch 1 per sample); int8 for int8_io
and golden/bad/* (inputs the compiler must reject with a clear error).
Exception: pruned_tfmot (TensorFlow Model Optimization Toolkit pruning, saved
without strip_pruning) is tf_keras only - tfkeras.h5, input.npy,
output_tfkeras.npy, output_stripped.npy, tf.tflite (from the stripped model),
info.json with the observed HDF5 layout; see generate_pruned_tfmot.
Exception: models with tf_refuses (layers_pool3d, mini_ct3d: 3D pooling, dilated Conv3D)
are ones TensorFlow's converter cannot convert with builtin ops; they get no tf*.tflite,
info.json records the converter's "TF Select ops: ..." line as tf_refusal, and
calibration.npy is written for h5tolite's own int8 tests (calibration=True).
Exception: chexnet_trained is a TRAINED model (Keras 3, ~150 s on CPU, seeded) with
synthetic labelled radiographs in golden/data/chexnet/ (PNG, CSV, .npy, DICOM) and
reference AUROC numbers (Keras, TF float32/float16/dynamic/int8 in LiteRT, a pruning +
BatchNorm re-estimation experiment) in its info.json; see generate_chexnet_trained.
It needs pillow, scikit-learn and pydicom (imported only there).

Determinism: every architecture is ONE builder function taking the keras module
(`tf_keras` or `keras`), with explicit layer names, so both frameworks build the
same graph.  Weights are then set explicitly from numpy RandomState streams that
are keyed by (seed, layer name, weight kind) - never by position - so the same
architecture gets bit-identical weights in both frameworks even where the
frameworks order a layer's weights differently.  A self-check at the end reloads
every file with the framework that wrote it, compares the outputs, and runs
tf.tflite in LiteRT (ai_edge_litert) against Keras (max abs err <= 1e-5); for the
quantized references see check_quantized.
"""

import argparse
import functools
import json
import os
import shutil
import sys
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # reproducible float math
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
import keras  # noqa: E402

tf.get_logger().setLevel("ERROR")
try:
    from ai_edge_litert.interpreter import Interpreter  # noqa: E402
except ImportError:  # pragma: no cover
    Interpreter = tf.lite.Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
CALIB_SEED = 5678   # calibration.npy: same distribution as input.npy, other seed
CALIB_SAMPLES = 32
QUANT = ("float16", "dynamic", "int8")  # TF quantized variants written for models with quant=


def is_keras3(K):
    return K.__name__ == "keras"


# --------------------------------------------------------------------------
# deterministic weights
# --------------------------------------------------------------------------

def leaf_layers(model):
    """All weight-carrying leaf layers, recursing into nested models."""
    for layer in model.layers:
        sub = getattr(layer, "layers", None)
        if isinstance(sub, list) and sub:
            yield from leaf_layers(layer)
        else:
            yield layer


def weight_kind(w, layer=None):
    # Keras 3: w.name == "kernel"; tf_keras: w.name == "conv1/conv/kernel:0"
    kind = w.name.split("/")[-1].split(":")[0]
    # Keras 3 calls the DepthwiseConv2D kernel "kernel", tf_keras "depthwise_kernel"
    if kind == "kernel" and type(layer).__name__ == "DepthwiseConv2D":
        kind = "depthwise_kernel"
    # ConvNeXt's LayerScale: Keras 3 calls its one weight "variable", tf_keras "gamma"
    if type(layer).__name__ == "LayerScale":
        kind = "gamma"
    return kind


def norm_name(name):
    # tf_keras applications use "conv1/conv" where Keras 3 uses "conv1_conv"
    return name.replace("/", "_")


def make_value(rng, kind, shape, layer_class=""):
    shape = tuple(int(s) for s in shape)
    if kind == "kernel" and layer_class == "Dense":
        # smaller than He so classifier heads do not saturate softmax/sigmoid
        return rng.normal(0.0, 0.5 / np.sqrt(shape[0]), shape)
    if kind == "kernel":
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    if kind == "depthwise_kernel":
        fan_in = shape[0] * shape[1]
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    if kind == "pointwise_kernel":
        return rng.normal(0.0, np.sqrt(2.0 / shape[2]), shape)
    if kind == "bias":
        return rng.normal(0.0, 0.1, shape)
    if kind == "gamma":
        return rng.uniform(0.5, 1.5, shape)
    if kind in ("beta", "moving_mean"):
        return rng.uniform(-0.25, 0.25, shape)
    if kind == "moving_variance":
        return rng.uniform(0.5, 1.5, shape)
    if kind == "alpha":  # PReLU
        return rng.uniform(0.05, 0.35, shape)
    return rng.uniform(0.5, 1.5, shape)  # custom layers etc.


def fill_weights(model, seed=SEED):
    """Set every weight from a RandomState keyed by (seed, layer, kind)."""
    for layer in leaf_layers(model):
        ws = layer.weights
        if not ws:
            continue
        vals = []
        for w in ws:
            kind = weight_kind(w, layer)
            key = f"{seed}:{norm_name(layer.name)}:{kind}".encode()
            rng = np.random.RandomState(zlib.crc32(key))
            vals.append(make_value(rng, kind, w.shape, type(layer).__name__).astype(np.float32))
        layer.set_weights(vals)
        if type(layer).__name__ == "Normalization":
            layer.finalize_state()  # it computes with a copy of mean and variance made when built


def weights_by_key(model):
    out = {}
    for layer in leaf_layers(model):
        for w, v in zip(layer.weights, layer.get_weights()):
            out[(norm_name(layer.name), weight_kind(w, layer))] = v
    return out


def class_names(model):
    names = {type(model).__name__}
    for layer in model.layers:
        names.add(type(layer).__name__)
        if isinstance(getattr(layer, "layers", None), list) and layer.layers:
            names |= class_names(layer)
    return names


# --------------------------------------------------------------------------
# architectures: ONE builder per model, parameterised by the keras module
# --------------------------------------------------------------------------

def build_mini_densenet(K, include_top=True, name="mini_densenet",
                        slash_names=False, classes=3,
                        classifier_activation="softmax", input_shape=(32, 32, 3),
                        growth=4, blocks=(2, 2), stem_filters=8):
    """keras.applications.DenseNet, shrunk.  slash_names=True reproduces the
    tf_keras applications spelling ("conv1/conv"); Keras 3 forbids '/' in
    layer names and spells it "conv1_conv"."""
    L = K.layers
    sep = "/" if slash_names else "_"
    eps = 1.001e-5

    def conv_block(x, name):
        x1 = L.BatchNormalization(axis=3, epsilon=eps, name=name + "_0_bn")(x)
        x1 = L.Activation("relu", name=name + "_0_relu")(x1)
        x1 = L.Conv2D(4 * growth, 1, use_bias=False, name=name + "_1_conv")(x1)
        x1 = L.BatchNormalization(axis=3, epsilon=eps, name=name + "_1_bn")(x1)
        x1 = L.Activation("relu", name=name + "_1_relu")(x1)
        x1 = L.Conv2D(growth, 3, padding="same", use_bias=False,
                      name=name + "_2_conv")(x1)
        return L.Concatenate(axis=3, name=name + "_concat")([x, x1])

    def dense_block(x, n, name):
        for i in range(n):
            x = conv_block(x, name=f"{name}_block{i + 1}")
        return x

    def transition_block(x, reduction, name):
        x = L.BatchNormalization(axis=3, epsilon=eps, name=name + "_bn")(x)
        x = L.Activation("relu", name=name + "_relu")(x)
        x = L.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False,
                     name=name + "_conv")(x)
        return L.AveragePooling2D(2, strides=2, name=name + "_pool")(x)

    inp = K.Input(shape=input_shape, name="input_1")
    x = L.ZeroPadding2D(padding=((3, 3), (3, 3)), name="zero_padding2d")(inp)
    x = L.Conv2D(stem_filters, 7, strides=2, use_bias=False,
                 name=f"conv1{sep}conv")(x)
    x = L.BatchNormalization(axis=3, epsilon=eps, name=f"conv1{sep}bn")(x)
    x = L.Activation("relu", name=f"conv1{sep}relu")(x)
    x = L.ZeroPadding2D(padding=((1, 1), (1, 1)), name="zero_padding2d_1")(x)
    x = L.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, n in enumerate(blocks):  # conv2, pool2, conv3, pool3, ...
        x = dense_block(x, n, name=f"conv{i + 2}")
        if i + 1 < len(blocks):
            x = transition_block(x, 0.5, name=f"pool{i + 2}")
    x = L.BatchNormalization(axis=3, epsilon=eps, name="bn")(x)
    x = L.Activation("relu", name="relu")(x)
    if include_top:
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
        x = L.Dense(classes, activation=classifier_activation,
                    name="predictions")(x)
    return K.Model(inp, x, name=name)


def build_mini_inception(K):
    """keras.applications.InceptionV3 style: conv2d_bn = Conv(no bias) +
    BN(scale=False) + ReLU, one 'mixed0'-like block."""
    L = K.layers
    counters = {}

    def auto(base):  # explicit names that look like Keras auto-naming
        n = counters.get(base, 0)
        counters[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def conv2d_bn(x, filters, nr, nc, padding="same", strides=(1, 1)):
        x = L.Conv2D(filters, (nr, nc), strides=strides, padding=padding,
                     use_bias=False, name=auto("conv2d"))(x)
        x = L.BatchNormalization(axis=3, scale=False,
                                 name=auto("batch_normalization"))(x)
        return L.Activation("relu", name=auto("activation"))(x)

    inp = K.Input(shape=(32, 32, 3), name="input_1")
    x = conv2d_bn(inp, 12, 3, 3, strides=(2, 2), padding="valid")  # 15x15
    x = L.MaxPooling2D((3, 3), strides=(2, 2), name=auto("max_pooling2d"))(x)  # 7x7
    b1 = conv2d_bn(x, 8, 1, 1)
    b5 = conv2d_bn(x, 6, 1, 1)
    b5 = conv2d_bn(b5, 8, 5, 5)
    b3 = conv2d_bn(x, 8, 1, 1)
    b3 = conv2d_bn(b3, 12, 3, 3)
    b3 = conv2d_bn(b3, 12, 3, 3)
    bp = L.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                            name=auto("average_pooling2d"))(x)
    bp = conv2d_bn(bp, 4, 1, 1)
    x = L.Concatenate(axis=3, name="mixed0")([b1, b5, b3, bp])
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    x = L.Dense(2, activation="softmax", name="predictions")(x)
    return K.Model(inp, x, name="mini_inception")


def build_mini_mobilenetv2(K):
    """keras.applications.MobileNetV2 style (names, eps, correct_pad)."""
    L = K.layers

    def correct_pad(x, k):
        h, w = int(x.shape[1]), int(x.shape[2])
        adjust = (1 - h % 2, 1 - w % 2)
        c = (k // 2, k // 2)
        return ((c[0] - adjust[0], c[0]), (c[1] - adjust[1], c[1]))

    def bn(name):
        return L.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)

    def block(x, expansion, stride, filters, block_id):
        in_ch = int(x.shape[-1])
        inputs = x
        prefix = f"block_{block_id}_"
        if block_id:
            x = L.Conv2D(expansion * in_ch, 1, padding="same", use_bias=False,
                         name=prefix + "expand")(x)
            x = bn(prefix + "expand_BN")(x)
            x = L.ReLU(6.0, name=prefix + "expand_relu")(x)
        else:
            prefix = "expanded_conv_"
        if stride == 2:
            x = L.ZeroPadding2D(padding=correct_pad(x, 3), name=prefix + "pad")(x)
        x = L.DepthwiseConv2D(3, strides=stride, use_bias=False,
                              padding="same" if stride == 1 else "valid",
                              name=prefix + "depthwise")(x)
        x = bn(prefix + "depthwise_BN")(x)
        x = L.ReLU(6.0, name=prefix + "depthwise_relu")(x)
        x = L.Conv2D(filters, 1, padding="same", use_bias=False,
                     name=prefix + "project")(x)
        x = bn(prefix + "project_BN")(x)
        if in_ch == filters and stride == 1:
            return L.Add(name=prefix + "add")([inputs, x])
        return x

    inp = K.Input(shape=(32, 32, 3), name="input_1")
    x = L.Conv2D(8, 3, strides=(2, 2), padding="same", use_bias=False, name="Conv1")(inp)
    x = bn("bn_Conv1")(x)
    x = L.ReLU(6.0, name="Conv1_relu")(x)
    x = block(x, 6, 2, 12, 1)    # ZeroPadding2D((0,1),(0,1)) + valid dw -> 8x8x12
    x = block(x, 6, 1, 12, 2)    # stride 1, same channels -> residual Add
    x = L.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    x = L.Dense(2, activation="softmax", name="predictions")(x)
    return K.Model(inp, x, name="mini_mobilenetv2")


def build_chexnet(K, frozen=False, bn_frozen=False, blocks=(2, 2)):
    """CheXNet shape: Sequential([DenseNet(include_top=False), GAP, Dense(14, sigmoid)]).
    The inner model uses each framework's keras.applications spelling
    (tf_keras: "conv1/conv", Keras 3: "conv1_conv")."""
    L = K.layers
    inner = build_mini_densenet(K, include_top=False, name="densenet_mini",
                                slash_names=not is_keras3(K), blocks=blocks)
    if frozen:
        inner.trainable = False
    if bn_frozen:
        inner.get_layer("conv2_block1_1_bn").trainable = False
    model = K.Sequential([
        inner,
        L.GlobalAveragePooling2D(name="global_average_pooling2d"),
        L.Dense(14, activation="sigmoid", name="dense"),
    ], name="sequential")
    return model


def leaky_relu(K, slope, name):
    if is_keras3(K):
        return K.layers.LeakyReLU(negative_slope=slope, name=name)
    return K.layers.LeakyReLU(alpha=slope, name=name)


def build_layers_conv(K):
    L = K.layers
    inp = K.Input(shape=(16, 16, 3), name="input")
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu",
                 name="conv_s2_same_relu")(inp)                         # 8x8x8
    x = L.BatchNormalization(name="bn_default")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                          name="dwconv_m2_same")(x)                     # 8x8x16
    x = L.BatchNormalization(scale=False, name="bn_no_scale")(x)
    x = L.SeparableConv2D(8, 3, padding="same", name="sepconv_same")(x)  # 8x8x8
    x = L.BatchNormalization(center=False, name="bn_no_center")(x)
    a = L.Conv2D(6, 3, dilation_rate=2, padding="valid", use_bias=False,
                 name="conv_d2_valid_nobias")(x)                        # 4x4x6
    b = L.Conv2D(6, 3, dilation_rate=2, padding="same", name="conv_d2_same")(x)  # 8x8x6
    b = L.Conv2D(6, (3, 2), strides=(2, 1), padding="valid",
                 name="conv_s21_valid")(b)                               # 3x7x6
    b = L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=1,
                          use_bias=False, name="dwconv_s2_valid")(x)    # 3x3x8
    c = L.Dense(5, name="dense_4d")(a)                                  # 4x4x5
    c = L.Flatten(name="flatten")(c)
    d = L.Flatten(name="flatten_1")(b)
    x = L.Concatenate(name="concat")([c, d])
    x = L.Dense(10, name="dense_out")(x)
    return K.Model(inp, x, name="layers_conv")


ACTIVATIONS = ["relu", "relu6", "sigmoid", "softmax", "tanh", "swish", "silu",
               "hard_sigmoid", "elu", "linear"]


def build_layers_activation(K):
    L = K.layers
    inp = K.Input(shape=(6, 6, 4), name="input")
    x = L.Conv2D(4, 1, name="pre_conv")(inp)
    outs = [L.Activation(a, name=f"act_{a}")(x) for a in ACTIVATIONS]
    outs += [
        L.ReLU(name="relu_layer")(x),
        L.ReLU(max_value=2.5, name="relu_max2_5")(x),
        L.ReLU(negative_slope=0.1, name="relu_slope0_1")(x),
        L.ReLU(threshold=0.5, name="relu_thresh0_5")(x),
        L.ReLU(max_value=6.0, name="relu_max6")(x),
        leaky_relu(K, 0.2, "leaky_relu")(x),
        L.PReLU(shared_axes=[1, 2], name="prelu_shared")(x),
        L.PReLU(name="prelu_full")(x),
        L.Softmax(axis=-1, name="softmax_layer")(x),
    ]
    y = L.Concatenate(axis=-1, name="concat")(outs)
    return K.Model(inp, y, name="layers_activation")


def build_layers_shape(K):
    L = K.layers
    inp = K.Input(shape=(12, 12, 3), name="input")
    x = L.Rescaling(scale=0.5, offset=0.25, name="rescaling")(inp)
    x = L.ZeroPadding2D(padding=((1, 2), (0, 1)), name="zpad_asym")(x)   # 15x13
    x = L.Cropping2D(cropping=((1, 0), (2, 1)), name="crop_asym")(x)      # 14x10
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="conv")(x)
    x = L.Dropout(0.5, name="dropout")(x)
    x = L.SpatialDropout2D(0.3, name="spatial_dropout")(x)
    x = L.GaussianNoise(0.1, name="gaussian_noise")(x)
    x = L.GaussianDropout(0.2, name="gaussian_dropout")(x)
    x = L.ActivityRegularization(l1=0.01, name="activity_reg")(x)        # 14x10x6
    mp_same = L.MaxPooling2D(3, strides=2, padding="same", name="maxpool_same")(x)    # 7x5
    mp_valid = L.MaxPooling2D(2, strides=1, padding="valid", name="maxpool_valid")(x)  # 13x9
    ap_same = L.AveragePooling2D(3, strides=2, padding="same", name="avgpool_same")(x)  # 7x5
    ap_valid = L.AveragePooling2D((2, 3), strides=(2, 1), padding="valid",
                                  name="avgpool_valid")(x)                           # 7x8
    up_n = L.UpSampling2D(2, name="upsample_nearest")(mp_same)                        # 14x10
    up_b = L.UpSampling2D((2, 3), interpolation="bilinear", name="upsample_bilinear")(ap_same)  # 14x15
    gap = L.GlobalAveragePooling2D(name="gap")(x)
    gmp = L.GlobalMaxPooling2D(name="gmp")(x)
    gap_k = L.GlobalAveragePooling2D(keepdims=True, name="gap_keepdims")(x)
    gmp_k = L.GlobalMaxPooling2D(keepdims=True, name="gmp_keepdims")(x)
    perm1 = L.Permute((3, 1, 2), name="permute_312")(mp_valid)   # 6x13x9
    perm2 = L.Permute((2, 1, 3), name="permute_213")(ap_valid)   # 8x7x6
    resh = L.Reshape((35, 6), name="reshape_35x6")(mp_same)
    resh2 = L.Reshape((-1,), name="reshape_flat")(ap_same)
    flats = [L.Flatten(name=f"flatten_{n}")(t) for n, t in [
        ("perm1", perm1), ("perm2", perm2), ("up_n", up_n), ("up_b", up_b),
        ("gap_k", gap_k), ("gmp_k", gmp_k), ("resh", resh)]]
    y = L.Concatenate(axis=-1, name="concat")(flats + [gap, gmp, resh2])
    return K.Model(inp, y, name="layers_shape")


def build_layers_merge(K):
    L = K.layers
    inp = K.Input(shape=(8, 8, 4), name="input")
    a = L.Conv2D(6, 1, name="conv_a")(inp)
    b = L.Conv2D(6, 1, name="conv_b")(inp)
    c = L.Conv2D(6, 3, padding="same", name="conv_c")(inp)
    d = L.Conv2D(3, 1, name="conv_d")(inp)
    add3 = L.Add(name="add3")([a, b, c])
    sub = L.Subtract(name="subtract")([a, b])
    mul3 = L.Multiply(name="multiply3")([a, b, c])
    avg = L.Average(name="average")([a, c])
    mx3 = L.Maximum(name="maximum3")([a, b, c])
    mn = L.Minimum(name="minimum")([b, c])
    cat_last = L.Concatenate(axis=-1, name="concat_last")([add3, sub, mul3, avg, mx3, mn, d])  # 8x8x39
    cat_h = L.Concatenate(axis=1, name="concat_axis1")([add3, mx3])   # 16x8x6
    cat_w = L.Concatenate(axis=2, name="concat_axis2")([sub, mn, avg])  # 8x24x6
    y = L.Concatenate(axis=-1, name="concat_flat")([
        L.Flatten(name="flatten_last")(cat_last),
        L.Flatten(name="flatten_h")(cat_h),
        L.Flatten(name="flatten_w")(cat_w)])
    return K.Model(inp, y, name="layers_merge")


def build_layers_sequence(K):
    """A transformer encoder's layers without attention: patches as tokens, LayerNormalization
    (with and without center), Dense on rank-3 tokens with GELU, a residual Add,
    GlobalAveragePooling1D."""
    L = K.layers
    inp = K.Input(shape=(16, 16, 3), name="input")
    x = L.Conv2D(8, 4, strides=4, name="patches")(inp)              # 4x4x8
    x = L.Reshape((16, 8), name="tokens")(x)
    x = L.LayerNormalization(epsilon=1e-6, name="norm1")(x)
    y = L.Dense(16, activation="gelu", name="mlp1")(x)
    y = L.Dense(8, name="mlp2")(y)
    x = L.Add(name="residual")([x, y])
    x = L.LayerNormalization(center=False, name="norm2")(x)
    x = L.GlobalAveragePooling1D(name="pool")(x)
    y = L.Dense(3, activation="softmax", name="head")(x)
    return K.Model(inp, y, name="layers_sequence")


def build_layers_group_norm(K):
    """GroupNormalization on feature maps (2 groups of 4 channels; and 8 groups of 1, as
    InstanceNormalization, without center) and on rank-3 tokens (4 groups, without scale)."""
    L = K.layers
    inp = K.Input(shape=(8, 8, 3), name="input")
    x = L.Conv2D(8, 3, padding="same", name="conv")(inp)
    x = L.GroupNormalization(groups=2, name="group_norm")(x)
    x = L.Activation("relu", name="relu")(x)
    x = L.GroupNormalization(groups=8, center=False, epsilon=1e-5, name="instance_norm")(x)
    x = L.Reshape((64, 8), name="tokens")(x)
    x = L.GroupNormalization(groups=4, scale=False, name="token_group_norm")(x)
    x = L.GlobalAveragePooling1D(name="pool")(x)
    y = L.Dense(3, activation="softmax", name="head")(x)
    return K.Model(inp, y, name="layers_group_norm")


def build_mini_convnext(K):
    """keras.applications ConvNeXt shrunk: Normalization inside, a 4x4/4 patchify stem with
    LayerNormalization, blocks of a 7x7 Conv2D with one group per channel, LayerNormalization,
    Dense 4C on rank-4 features, GELU, Dense C and keras.applications' own LayerScale, with a
    residual Add; a LayerNormalization + 2x2/2 downsampling conv between stages; global
    average pooling, LayerNormalization and a softmax head."""
    L = K.layers
    LayerScale = (keras.src if is_keras3(K) else tf_keras.src).applications.convnext.LayerScale

    def block(x, channels, name):
        h = L.Conv2D(channels, 7, padding="same", groups=channels, name=name + "_depthwise_conv")(x)
        h = L.LayerNormalization(epsilon=1e-6, name=name + "_layernorm")(h)
        h = L.Dense(4 * channels, name=name + "_pointwise_conv_1")(h)
        h = L.Activation("gelu", name=name + "_gelu")(h)
        h = L.Dense(channels, name=name + "_pointwise_conv_2")(h)
        h = LayerScale(1e-6, channels, name=name + "_layer_scale")(h)
        return L.Add(name=name + "_add")([x, h])

    inp = K.Input(shape=(32, 32, 3), name="input")
    x = L.Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                        variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2], name="prestem_normalization")(inp)
    x = L.Conv2D(8, 4, strides=4, name="stem_conv")(x)                       # 8x8x8
    x = L.LayerNormalization(epsilon=1e-6, name="stem_layernorm")(x)
    x = block(x, 8, "stage_0_block_0")
    x = L.LayerNormalization(epsilon=1e-6, name="downsampling_layernorm_1")(x)
    x = L.Conv2D(16, 2, strides=2, name="downsampling_conv_1")(x)            # 4x4x16
    x = block(x, 16, "stage_1_block_0")
    x = L.GlobalAveragePooling2D(name="head_gap")(x)
    x = L.LayerNormalization(epsilon=1e-6, name="head_layernorm")(x)
    y = L.Dense(3, activation="softmax", name="predictions")(x)
    return K.Model(inp, y, name="mini_convnext")


def build_mini_vit(K):
    """A small vision transformer: 4x4 patches as 16 tokens, two pre-norm encoder blocks with
    MultiHeadAttention (self-attention; the second with value_dim != key_dim, no bias, and a
    separate key), GELU MLPs, residual Adds, LayerNormalization, GlobalAveragePooling1D and a
    softmax head."""
    L = K.layers
    inp = K.Input(shape=(16, 16, 3), name="input")
    x = L.Conv2D(16, 4, strides=4, name="patches")(inp)
    x = L.Reshape((16, 16), name="tokens")(x)
    h = L.LayerNormalization(epsilon=1e-6, name="block1_norm1")(x)
    h = L.MultiHeadAttention(num_heads=2, key_dim=8, name="block1_attention")(h, h)
    x = L.Add(name="block1_residual1")([x, h])
    h = L.LayerNormalization(epsilon=1e-6, name="block1_norm2")(x)
    h = L.Dense(32, activation="gelu", name="block1_mlp1")(h)
    h = L.Dense(16, name="block1_mlp2")(h)
    x = L.Add(name="block1_residual2")([x, h])
    h = L.LayerNormalization(epsilon=1e-6, name="block2_norm1")(x)
    k = L.Dense(16, name="block2_key_input")(h)
    h = L.MultiHeadAttention(num_heads=4, key_dim=4, value_dim=6, use_bias=False, output_shape=16,
                             name="block2_attention")(h, h, k)
    x = L.Add(name="block2_residual1")([x, h])
    h = L.LayerNormalization(epsilon=1e-6, name="block2_norm2")(x)
    h = L.Dense(32, activation="gelu", name="block2_mlp1")(h)
    h = L.Dense(16, name="block2_mlp2")(h)
    x = L.Add(name="block2_residual2")([x, h])
    x = L.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = L.GlobalAveragePooling1D(name="pool")(x)
    y = L.Dense(3, activation="softmax", name="head")(x)
    return K.Model(inp, y, name="mini_vit")


def build_layers_transpose(K):
    """Conv2DTranspose on its own: strides 2 same with a fused relu, (2,3) kernel with strides
    (1,2) valid without bias, output_padding 0 with same padding (an odd output), stride 3
    valid with output_padding 2, and one without bias followed by BatchNormalization + ReLU
    (folded into the transposed convolution by TensorFlow)."""
    L = K.layers
    inp = K.Input(shape=(8, 8, 3), name="input")
    a = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up_same_relu")(inp)  # 16x16
    b = L.Conv2DTranspose(3, (2, 3), strides=(1, 2), padding="valid", use_bias=False, name="up_valid_nobias")(inp)  # 9x17
    c = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=0, name="up_output_padding0")(inp)  # 15x15
    d = L.Conv2DTranspose(2, 4, strides=3, padding="valid", output_padding=2, name="up_stride3")(inp)  # 27x27
    e = L.Conv2DTranspose(5, 2, strides=2, padding="same", use_bias=False, name="up_bn")(inp)  # 16x16
    e = L.BatchNormalization(name="up_bn_bn")(e)
    e = L.Activation("relu", name="up_bn_relu")(e)
    y = L.Concatenate(name="concat")([L.Flatten(name=f"flatten_{i}")(t) for i, t in enumerate((a, b, c, d, e))])
    return K.Model(inp, y, name="layers_transpose")


def build_layers_prelu(K):
    """PReLU in int8: a conv, PReLU with one alpha per channel shared over height and width,
    a strided conv, PReLU with an alpha per element, a dense head. TensorFlow's int8 file keeps
    PRELU int8 with an int8 alpha constant of its own scale."""
    L = K.layers
    inp = K.Input(shape=(8, 8, 3), name="input")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)                  # 8x8x8
    x = L.PReLU(shared_axes=[1, 2], name="prelu_shared")(x)
    x = L.Conv2D(8, 3, strides=2, padding="same", name="conv2")(x)        # 4x4x8
    x = L.PReLU(name="prelu_full")(x)
    x = L.GlobalAveragePooling2D(name="pool")(x)
    y = L.Dense(4, name="head")(x)
    return K.Model(inp, y, name="layers_prelu")


def build_unet(K):
    """A small U-Net for lung segmentation: two down levels (Conv-BN-ReLU, MaxPool), a
    bottleneck, two up levels (Conv2DTranspose upsampling, skip Concatenate with the encoder
    level, Conv-BN-ReLU) and a per-pixel sigmoid mask."""
    L = K.layers

    def conv_bn_relu(x, filters, name):
        x = L.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv")(x)
        x = L.BatchNormalization(name=name + "_bn")(x)
        return L.Activation("relu", name=name + "_relu")(x)

    inp = K.Input(shape=(32, 32, 1), name="image")
    e1 = conv_bn_relu(inp, 8, "enc1")                                   # 32x32x8
    e2 = conv_bn_relu(L.MaxPooling2D(2, name="pool1")(e1), 16, "enc2")  # 16x16x16
    b = conv_bn_relu(L.MaxPooling2D(2, name="pool2")(e2), 32, "bottleneck")  # 8x8x32
    u2 = L.Conv2DTranspose(16, 2, strides=2, padding="same", name="up2")(b)  # 16x16x16
    d2 = conv_bn_relu(L.Concatenate(name="skip2")([u2, e2]), 16, "dec2")
    u1 = L.Conv2DTranspose(8, 3, strides=2, padding="same", use_bias=False, name="up1")(d2)  # 32x32x8
    u1 = L.BatchNormalization(name="up1_bn")(u1)
    u1 = L.Activation("relu", name="up1_relu")(u1)
    d1 = conv_bn_relu(L.Concatenate(name="skip1")([u1, e1]), 8, "dec1")
    y = L.Conv2D(1, 1, activation="sigmoid", name="mask")(d1)
    return K.Model(inp, y, name="unet")


def build_layers_conv3d(K):
    """Conv3D and the volume layers TensorFlow converts with builtin ops: Conv3D same + relu,
    a (3,2,1) kernel with strides (2,1,2) valid without bias, a 1x1x1 conv, Conv3D without bias
    + BatchNormalization + ReLU, ZeroPadding3D, Cropping3D, SpatialDropout3D,
    GlobalMaxPooling3D and GlobalAveragePooling3D (keepdims). UpSampling3D is in
    layers_pool3d: TensorFlow writes it as an int8 TILE (version 3) that LiteRT's reference
    kernels lack."""
    L = K.layers
    inp = K.Input(shape=(6, 8, 7, 2), name="volume")
    a = L.Conv3D(4, 3, padding="same", activation="relu", name="conv_same_relu")(inp)        # 6x8x7x4
    b = L.Conv3D(3, (3, 2, 1), strides=(2, 1, 2), use_bias=False, name="conv_strided")(inp)  # 2x7x4x3
    c = L.Conv3D(5, 1, name="conv_pointwise")(a)                                             # 6x8x7x5
    d = L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)), name="pad")(inp)                            # 7x10x9x2
    d = L.Conv3D(4, 3, use_bias=False, name="conv_bn")(d)                                    # 5x8x7x4
    d = L.BatchNormalization(name="conv_bn_bn")(d)
    d = L.Activation("relu", name="conv_bn_relu")(d)
    d = L.SpatialDropout3D(0.3, name="dropout")(d)
    e = L.Cropping3D(((1, 0), (2, 1), (0, 1)), name="crop")(d)                                # 4x5x6x4
    f = L.Flatten(name="flatten_strided")(b)
    g = L.GlobalMaxPooling3D(name="global_max")(c)
    h = L.GlobalAveragePooling3D(keepdims=True, name="global_average")(e)
    y = L.Concatenate(name="concat")([L.Flatten(name=f"flatten_{i}")(t) for i, t in enumerate((e, f, g, h))])
    return K.Model(inp, y, name="layers_conv3d")


def build_layers_pool3d(K):
    """3D pooling on odd sizes, which TensorFlow's converter refuses without Flex ops:
    MaxPooling3D 2 valid, (3,2,3) strides (2,3,1) same; AveragePooling3D (2,3,2) strides
    (1,2,3) same, 3 strides 2 valid, 3 strides 1 same (strides unlike the window); and
    UpSampling3D (2,1,3) and (1,2,1) on two of the pooled volumes."""
    L = K.layers
    inp = K.Input(shape=(7, 9, 11, 2), name="volume")
    pools = [
        L.MaxPooling3D(2, name="max_valid")(inp),                                               # 3x4x5
        L.MaxPooling3D((3, 2, 3), strides=(2, 3, 1), padding="same", name="max_same")(inp),     # 4x3x11
        L.AveragePooling3D((2, 3, 2), strides=(1, 2, 3), padding="same", name="average_same")(inp),  # 7x5x4
        L.AveragePooling3D(3, strides=2, name="average_valid")(inp),                            # 3x4x5
        L.AveragePooling3D(3, strides=1, padding="same", name="average_same_stride1")(inp),     # 7x9x11
    ]
    pools.append(L.UpSampling3D((2, 1, 3), name="upsample_depth_width")(pools[0]))             # 6x4x15
    pools.append(L.UpSampling3D((1, 2, 1), name="upsample_height")(pools[3]))                  # 3x8x5
    y = L.Concatenate(name="concat")([L.Flatten(name=f"flatten_{i}")(t) for i, t in enumerate(pools)])
    return K.Model(inp, y, name="layers_pool3d")


def build_mini_ct3d(K):
    """A small 3D CNN for a CT volume: Conv3D + BN + ReLU, MaxPooling3D, AveragePooling3D with
    SAME padding, a strided and a dilated Conv3D, GlobalAveragePooling3D, Dense sigmoid."""
    L = K.layers
    inp = K.Input(shape=(8, 16, 16, 1), name="ct")
    x = L.Conv3D(8, 3, padding="same", use_bias=False, name="conv1")(inp)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.Activation("relu", name="conv1_relu")(x)
    x = L.MaxPooling3D(2, name="pool1")(x)                                                      # 4x8x8
    x = L.Conv3D(16, 3, strides=(1, 2, 2), padding="same", name="conv2")(x)                     # 4x4x4
    x = L.BatchNormalization(name="conv2_bn")(x)
    x = L.Activation("relu", name="conv2_relu")(x)
    x = L.AveragePooling3D((2, 3, 3), strides=1, padding="same", name="pool2")(x)               # 4x4x4
    x = L.Conv3D(16, 3, dilation_rate=(1, 2, 2), padding="same", activation="relu", name="conv3")(x)
    x = L.GlobalAveragePooling3D(name="gap")(x)
    y = L.Dense(1, activation="sigmoid", name="finding")(x)
    return K.Model(inp, y, name="mini_ct3d")


def build_multi_io(K):
    """Two inputs (a 32x32x1 radiograph and 4 clinical features) and three outputs in this order:
    14 finding probabilities (sigmoid), a 4-number box (linear) and an 8x8 heat map (sigmoid)."""
    L = K.layers
    image = K.Input(shape=(32, 32, 1), name="image")
    clinical = K.Input(shape=(4,), name="clinical")
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")(image)      # 16x16x8
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="features")(x)       # 8x8x16
    x = L.BatchNormalization(name="features_bn")(x)
    x = L.Activation("relu", name="features_relu")(x)
    heatmap = L.Conv2D(1, 1, activation="sigmoid", name="heatmap")(x)
    pooled = L.GlobalAveragePooling2D(name="pool")(x)
    c = L.Dense(8, activation="relu", name="clinical_dense")(clinical)
    joined = L.Concatenate(name="joined")([pooled, c])
    findings = L.Dense(14, activation="sigmoid", name="findings")(joined)
    box = L.Dense(4, name="box")(joined)
    return K.Model([image, clinical], [findings, box, heatmap], name="multi_io")


MULTI_IO_INPUTS = (("image", (32, 32, 1)), ("clinical", (4,)))


def generate_multi_io(spec, out_root):
    """Own writer: input_<name>.npy per input, output_<framework>_<name>.npy per output, the
    three model files, TF's float32 file and its int8 file (calibration_<name>.npy), and LiteRT's
    outputs of both, matched to the Keras outputs by name through the serving_default signature."""
    name = spec["name"]
    d = os.path.join(out_root, "models", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    xs = [make_input(shape, SEED + i) for i, (_, shape) in enumerate(MULTI_IO_INPUTS)]
    cal = [make_calibration(shape) if i == 0 else
           np.random.RandomState(CALIB_SEED + i).normal(0.0, 1.0, (CALIB_SAMPLES,) + shape).astype(np.float32)
           for i, (_, shape) in enumerate(MULTI_IO_INPUTS)]
    km, tm = build_pair(spec["build"], xs, None)
    out_names = [n for n in km.output_names]
    for (input_name, _), x, c in zip(MULTI_IO_INPUTS, xs, cal):
        np.save(os.path.join(d, f"input_{input_name}.npy"), x)
        np.save(os.path.join(d, f"calibration_{input_name}.npy"), c)
    yk = [np.asarray(y, np.float32) for y in km.predict(xs, verbose=0)]
    yt = [np.asarray(y, np.float32) for y in tm.predict(xs, verbose=0)]
    for out_name, a, b in zip(out_names, yk, yt):
        np.save(os.path.join(d, f"output_keras3_{out_name}.npy"), a)
        np.save(os.path.join(d, f"output_tfkeras_{out_name}.npy"), b)
    tm.save(os.path.join(d, "tfkeras.h5"))
    save_keras3_h5(km, os.path.join(d, "keras3.h5"))
    km.save(os.path.join(d, "model.keras"))
    tfl = convert_tflite(km)
    with open(os.path.join(d, "tf.tflite"), "wb") as f:
        f.write(tfl)
    conv = tf.lite.TFLiteConverter.from_keras_model(km)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ({n: c[i:i + 1] for (n, _), c in zip(MULTI_IO_INPUTS, cal)}
                                           for i in range(CALIB_SAMPLES))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    tfq = conv.convert()
    with open(os.path.join(d, "tf_int8.tflite"), "wb") as f:
        f.write(tfq)
    errors = {}
    for variant, blob in (("float32", tfl), ("int8", tfq)):
        runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
        outs = [runner(**{n: x[i:i + 1] for (n, _), x in zip(MULTI_IO_INPUTS, xs)}) for i in range(xs[0].shape[0])]
        # TensorFlow names a Keras 3 model's signature outputs output_0, output_1, ... in Keras order.
        for index, (out_name, expected) in enumerate(zip(out_names, yk)):
            got = np.concatenate([o[f"output_{index}"] for o in outs]).astype(np.float32)
            np.save(os.path.join(d, f"litert_{variant}_{out_name}.npy"), got)
            errors[f"max_abs_diff_tf_{variant}_{out_name}_vs_keras3"] = float(np.max(np.abs(got - expected)))
    it = Interpreter(model_content=tfl)
    info = {
        "name": name,
        "inputs": {n: list(shape) for n, shape in MULTI_IO_INPUTS},
        "outputs": {n: list(y.shape) for n, y in zip(out_names, yk)},
        "keras_output_order": out_names,
        "tf_signature": it.get_signature_list()["serving_default"],
        "tf_subgraph_outputs": [o["name"] for o in it.get_output_details()],
        "layers": sorted(class_names(km) | class_names(tm)),
        "note": spec["note"],
        "input_data": f"input_<name>.npy: RandomState({SEED} + input index).normal(0,1), 2 samples; "
                      f"calibration_<name>.npy: RandomState({CALIB_SEED} + input index), {CALIB_SAMPLES} samples",
        "max_abs_diff_tfkeras_vs_keras3": float(max(np.max(np.abs(a - b)) for a, b in zip(yk, yt))),
        **errors,
        "versions": {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                     "keras": keras.__version__, "h5py": h5py.__version__, "numpy": np.__version__},
    }
    assert info["max_abs_diff_tfkeras_vs_keras3"] < 1e-5
    assert all(v < 1e-5 for k, v in errors.items() if "float32" in k), errors
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"[gen] {name}: outputs {info['outputs']}, signature {info['tf_signature']}", flush=True)


def check_multi_io(spec, out_root, check):
    d = os.path.join(out_root, "models", spec["name"])
    info = json.load(open(os.path.join(d, "info.json")))
    m = keras.models.load_model(os.path.join(d, "model.keras"), compile=False)
    xs = [np.load(os.path.join(d, f"input_{n}.npy")) for n, _ in MULTI_IO_INPUTS]
    ys = m.predict(xs, verbose=0)
    for n, y in zip(info["keras_output_order"], ys):
        ref = np.load(os.path.join(d, f"output_keras3_{n}.npy"))
        check(np.max(np.abs(y - ref)) < 1e-5, f"multi_io model.keras output {n} reproduced")


# --------------------------------------------------------------------------
# keras.applications shapes with operation nodes and preprocessing layers
# --------------------------------------------------------------------------
# Keras 3 records Python arithmetic and ops.* calls on Keras tensors in a functional model as
# operation nodes ("module": "keras.src.ops.numpy", "class_name": "Add", constant arguments
# in "inbound_nodes" args); tf_keras records them as TFOpLambda / SlicingOpLambda layers
# ("function": "__operators__.add", constants in the node's kwargs).  These op nodes get
# automatic names (add, tf.__operators__.add, ...): they hold no weights.

def build_mini_mobilenetv3(K):
    """keras.applications.MobileNetV3 shrunk: hard_sigmoid = ReLU(6)(x + 3) * (1/6) (two op
    nodes around a ReLU layer), hard_swish = Multiply([x, hard_sigmoid(x)]) (tf_keras's
    spelling; Keras 3's applications use Activation('hard_swish')), squeeze-excite blocks."""
    L = K.layers

    def hard_sigmoid(x):
        return L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)

    def hard_swish(x):
        return L.Multiply()([x, hard_sigmoid(x)])

    def bn(name):
        return L.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)

    def se_block(inputs, filters, prefix):
        x = L.GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite_avg_pool")(inputs)
        x = L.Conv2D(8, 1, padding="same", name=prefix + "squeeze_excite_conv")(x)
        x = L.ReLU(name=prefix + "squeeze_excite_relu")(x)
        x = L.Conv2D(filters, 1, padding="same", name=prefix + "squeeze_excite_conv_1")(x)
        x = hard_sigmoid(x)
        return L.Multiply(name=prefix + "squeeze_excite_mul")([inputs, x])

    def block(x, expansion, filters, stride, activation, block_id):
        shortcut = x
        infilters = int(x.shape[-1])
        prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
        if block_id:
            x = L.Conv2D(infilters * expansion, 1, padding="same", use_bias=False, name=prefix + "expand")(x)
            x = bn(prefix + "expand_bn")(x)
            x = activation(x)
        if stride == 2:
            x = L.ZeroPadding2D(padding=((0, 1), (0, 1)), name=prefix + "depthwise_pad")(x)
        x = L.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid",
                              use_bias=False, name=prefix + "depthwise")(x)
        x = bn(prefix + "depthwise_bn")(x)
        x = activation(x)
        x = se_block(x, int(x.shape[-1]), prefix)
        x = L.Conv2D(filters, 1, padding="same", use_bias=False, name=prefix + "project")(x)
        x = bn(prefix + "project_bn")(x)
        if stride == 1 and infilters == filters:
            x = L.Add(name=prefix + "add")([shortcut, x])
        return x

    inp = K.Input(shape=(32, 32, 3), name="input_1")
    x = L.Rescaling(scale=1.0 / 127.5, offset=-1.0, name="rescaling")(inp)
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv")(x)
    x = bn("conv_bn")(x)
    x = hard_swish(x)
    x = block(x, 1, 8, 2, lambda t: L.ReLU()(t), 0)     # 8x8x8, SE
    x = block(x, 3, 12, 1, hard_swish, 1)                # 8x8x12
    x = block(x, 3, 12, 1, hard_swish, 2)                # residual Add
    x = L.Conv2D(24, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = bn("conv_1_bn")(x)
    x = hard_swish(x)
    x = L.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling2d")(x)
    x = L.Conv2D(16, 1, padding="same", use_bias=True, name="conv_2")(x)
    x = hard_swish(x)
    x = L.Dropout(0.2, name="dropout")(x)
    x = L.Conv2D(4, 1, padding="same", name="logits")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Activation("softmax", name="predictions")(x)
    return K.Model(inp, x, name="mini_mobilenetv3")


def build_mini_efficientnet(K):
    """keras.applications.EfficientNet shrunk: Rescaling(1/255) + Normalization (stored mean,
    variance, count) + per-channel Rescaling(1/sqrt(stddev)) as with imagenet weights, stem
    conv + swish, MBConv blocks (expand, depthwise, squeeze-excite with GAP + Reshape + two
    1x1 convs + Multiply, project, Dropout + Add residual), top conv, GAP, Dense softmax."""
    L = K.layers

    def correct_pad(x, k):
        h, w = int(x.shape[1]), int(x.shape[2])
        adjust = (1 - h % 2, 1 - w % 2)
        c = (k // 2, k // 2)
        return ((c[0] - adjust[0], c[0]), (c[1] - adjust[1], c[1]))

    def block(inputs, name, filters_in, filters_out, expand_ratio, strides, id_skip=True):
        filters = filters_in * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = L.Conv2D(filters, 1, padding="same", use_bias=False, name=name + "expand_conv")(x)
            x = L.BatchNormalization(axis=3, name=name + "expand_bn")(x)
            x = L.Activation("swish", name=name + "expand_activation")(x)
        if strides == 2:
            x = L.ZeroPadding2D(padding=correct_pad(x, 3), name=name + "dwconv_pad")(x)
        x = L.DepthwiseConv2D(3, strides=strides, padding="valid" if strides == 2 else "same",
                              use_bias=False, name=name + "dwconv")(x)
        x = L.BatchNormalization(axis=3, name=name + "bn")(x)
        x = L.Activation("swish", name=name + "activation")(x)
        se = L.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
        se = L.Reshape((1, 1, filters), name=name + "se_reshape")(se)
        se = L.Conv2D(max(1, filters_in // 4), 1, padding="same", activation="swish", name=name + "se_reduce")(se)
        se = L.Conv2D(filters, 1, padding="same", activation="sigmoid", name=name + "se_expand")(se)
        x = L.Multiply(name=name + "se_excite")([x, se])
        x = L.Conv2D(filters_out, 1, padding="same", use_bias=False, name=name + "project_conv")(x)
        x = L.BatchNormalization(axis=3, name=name + "project_bn")(x)
        if id_skip and strides == 1 and filters_in == filters_out:
            x = L.Dropout(0.2, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
            x = L.Add(name=name + "add")([x, inputs])
        return x

    inp = K.Input(shape=(32, 32, 3), name="input_1")
    x = L.Rescaling(1.0 / 255.0, name="rescaling")(inp)
    x = L.Normalization(axis=-1, name="normalization")(x)
    x = L.Rescaling([1.0 / np.sqrt(s) for s in (0.229, 0.224, 0.225)], name="rescaling_1")(x)
    x = L.ZeroPadding2D(padding=correct_pad(x, 3), name="stem_conv_pad")(x)
    x = L.Conv2D(8, 3, strides=2, padding="valid", use_bias=False, name="stem_conv")(x)
    x = L.BatchNormalization(axis=3, name="stem_bn")(x)
    x = L.Activation("swish", name="stem_activation")(x)
    x = block(x, "block1a_", 8, 8, 1, 1)
    x = block(x, "block2a_", 8, 12, 3, 2)
    x = block(x, "block2b_", 12, 12, 3, 1)
    x = L.Conv2D(32, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = L.BatchNormalization(axis=3, name="top_bn")(x)
    x = L.Activation("swish", name="top_activation")(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    x = L.Dropout(0.2, name="top_dropout")(x)
    x = L.Dense(3, activation="softmax", name="predictions")(x)
    return K.Model(inp, x, name="mini_efficientnet")


def build_layers_preprocessing(K):
    """Normalization (mean/variance in the config, invert=True, and stored as weights),
    Resizing bilinear (down and up) and nearest (non-integer factor), CenterCrop (odd
    margins), Rescaling with per-channel scale and offset."""
    L = K.layers
    inp = K.Input(shape=(20, 24, 3), name="input")
    x = L.Normalization(mean=[0.5, -0.2, 0.1], variance=[2.0, 0.5, 1.0], name="normalization")(inp)
    x = L.Resizing(16, 18, interpolation="bilinear", name="resize_bilinear")(x)      # 16x18
    a = L.CenterCrop(11, 14, name="center_crop")(x)                                  # 11x14
    a = L.Rescaling([0.5, 1.25, -1.0], offset=[0.1, 0.0, -0.3], name="rescaling_channels")(a)
    b = L.Resizing(11, 14, interpolation="nearest", name="resize_nearest")(x)       # 11x14
    c = L.Normalization(mean=[0.5, 0.0, -0.5], variance=[2.0, 1.0, 0.25], invert=True,
                        name="denormalization")(b)
    y = L.Concatenate(axis=-1, name="concat")([a, b, c])                            # 11x14x9
    y = L.Normalization(axis=-1, name="normalization_stored")(y)
    y = L.Resizing(17, 25, interpolation="bilinear", name="resize_up")(y)           # 17x25x9
    return K.Model(inp, y, name="layers_preprocessing")


def build_layers_operations(K):
    """Operation nodes from the fixed list, in both frameworks: arithmetic with constants on
    either side, unary ops, maximum/minimum, mean, reshape, slicing (GetItem/getitem),
    concatenate, softmax.  Keras 3 uses keras.ops, tf_keras the tf functions."""
    L = K.layers
    inp = K.Input(shape=(6, 6, 4), name="input")
    x = L.Conv2D(4, 1, name="conv")(inp)
    y = (2.0 - x) * x / 4.0
    y = 1.0 / (L.ReLU(name="relu_layer")(y) + 1.5)
    y = -y + x
    if is_keras3(K):
        ops = K.ops
        a = ops.relu6(ops.maximum(x, 0.5) * 3.0)
        b = ops.hard_silu(ops.minimum(y, x)) + ops.silu(x) + ops.sigmoid(y) + ops.tanh(y) + ops.relu(x) - ops.hard_sigmoid(x)
        s = ops.concatenate([a, b], axis=-1)
        t = s[:, 1:5, :, 0:6:2]
        m = ops.mean(t, axis=[1, 2], keepdims=True)
        r = ops.softmax(ops.reshape(m, (-1, 3)), axis=-1)
        f = ops.reshape(t[..., 1], (-1, 24))
        return K.Model(inp, L.Concatenate(name="out")([r, f]), name="layers_operations")
    a = tf.nn.relu6(tf.maximum(x, 0.5) * 3.0)
    hs = tf.minimum(y, x)
    hs = hs * tf.nn.relu6(hs + 3.0) / 6.0
    b = hs + tf.nn.silu(x) + tf.math.sigmoid(y) + tf.math.tanh(y) + tf.nn.relu(x) - tf.nn.relu6(x + 3.0) / 6.0
    s = tf.concat([a, b], axis=-1)
    t = s[:, 1:5, :, 0:6:2]
    m = tf.reduce_mean(t, axis=[1, 2], keepdims=True)
    r = tf.nn.softmax(tf.reshape(m, (-1, 3)), axis=-1)
    f = tf.reshape(t[..., 1], (-1, 24))
    return K.Model(inp, L.Concatenate(name="out")([r, f]), name="layers_operations")


# --------------------------------------------------------------------------
# pruned_tfmot: TensorFlow Model Optimization Toolkit pruning, tf_keras only
# --------------------------------------------------------------------------
# Saved WITHOUT strip_pruning, as users do: every wrapped layer is a
# PruneLowMagnitude layer in model_config and its HDF5 weight group carries the
# inner layer's weights plus mask / threshold / pruning_step.  tfmot does not
# support Keras 3, so this model has no keras3.h5 / model.keras.

PRUNED_WRAPPED = ("conv1", "dwconv", "conv_pw", "dense")  # inner layer names
PRUNED_EXAMPLE = "prune_low_magnitude_dense"               # wrapper recorded in info.json


def import_tfmot():
    """Import tensorflow_model_optimization lazily (only this model needs it).

    On import tfmot sets os.environ["TF_USE_LEGACY_KERAS"] = "1" and reads
    tf.keras; if tf.keras had not been resolved yet it would then resolve to
    tf_keras for the rest of the process.  Resolve tf.keras first (Keras 3, as
    for every other model here; tfmot then imports tf_keras itself) and restore
    the variable, so importing tfmot changes nothing for the other models."""
    try:
        return sys.modules["tensorflow_model_optimization"]
    except KeyError:
        pass
    tf.keras.__name__  # noqa: B018  (resolve the lazy tf.keras module now)
    saved = os.environ.get("TF_USE_LEGACY_KERAS")
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError:  # pragma: no cover
        sys.exit("pruned_tfmot needs tensorflow-model-optimization (pip install -r golden/requirements.txt)")
    finally:
        if saved is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = saved
    from tensorflow_model_optimization.python.core.keras.compat import keras as tfmot_keras
    assert tfmot_keras is tf_keras, f"tfmot uses {tfmot_keras.__name__}, expected tf_keras"
    return tfmot


def build_pruned_base(K):
    L = K.layers
    inp = K.Input(shape=(16, 16, 3), name="input")
    x = L.Conv2D(8, 3, padding="same", name="conv1")(inp)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU(name="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="dwconv")(x)
    x = L.Conv2D(8, 1, name="conv_pw")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(4, activation="softmax", name="dense")(x)
    return K.Model(inp, x, name="pruned_tfmot")


def build_pruned_tfmot(tfmot):
    """Base model with fill_weights, then the tfmot guide's clone_model idiom:
    wrap Conv2D / DepthwiseConv2D / Dense in prune_low_magnitude (the wrapper
    holds the original layer, so the filled weights are kept)."""
    base = build_pruned_base(tf_keras)
    fill_weights(base)
    sched = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1)
    L = tf_keras.layers

    def wrap(layer):
        if isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.Dense)):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched)
        return layer

    model = tf_keras.models.clone_model(base, clone_function=wrap)
    assert [l.layer.name for l in model.layers if hasattr(l, "pruning_schedule")] == list(PRUNED_WRAPPED)
    return model


def train_pruned(tfmot, model):
    """3 epochs x 4 batches of 8 seeded random samples, Adam, UpdatePruningStep
    (which re-applies kernel*mask at each epoch end, so the saved kernels are sparse)."""
    rng = np.random.RandomState(SEED + 1)
    xt = rng.normal(0.0, 1.0, (32, 16, 16, 3)).astype(np.float32)
    yt = np.eye(4, dtype=np.float32)[rng.randint(0, 4, 32)]
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=1e-3),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(xt, yt, batch_size=8, epochs=3, shuffle=False, verbose=0,
              callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])


def h5_str_list(a):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in a]


def pruned_h5_facts(path):
    """The tfmot HDF5 layout as read back with h5py (recorded in info.json and
    re-derived by the self-check)."""
    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        mw = f["model_weights"]
        layers = cfg["config"]["layers"]
        wrapped = [l for l in layers if l["class_name"] == "PruneLowMagnitude"]
        example = next(l for l in wrapped if l["config"]["name"] == PRUNED_EXAMPLE)
        groups, sparsity = {}, {}
        for l in wrapped:
            wname = l["config"]["name"]
            names = h5_str_list(mw[wname].attrs["weight_names"])
            ds = {n: mw[wname][n] for n in names}
            groups[wname] = {n: {"shape": list(d.shape), "dtype": str(d.dtype)} for n, d in ds.items()}
            inner = l["config"]["layer"]["config"]["name"]
            kernel = next(n for n in names if n.split("/")[-1].split(":")[0] in ("kernel", "depthwise_kernel"))
            k = ds[kernel][()]
            mask_name = f"{wname}/mask:0"
            entry = {"kernel": kernel, "size": int(k.size), "zeros": int(np.sum(k == 0)),
                     "sparsity": float(np.mean(k == 0)), "has_mask": mask_name in ds,
                     "pruning_step": int(ds[f"{wname}/pruning_step:0"][()])}
            if mask_name in ds:
                m = ds[mask_name][()]
                entry["mask_zeros"] = int(np.sum(m == 0))
                entry["mask_values"] = sorted(float(v) for v in np.unique(m))
                entry["kernel_equals_kernel_times_mask"] = bool(np.array_equal(k, k * m))
                entry["threshold"] = float(ds[f"{wname}/threshold:0"][()])
            sparsity[inner] = entry
        opt = f.get("optimizer_weights")
        return {
            "root_attrs": sorted(f.attrs.keys()),
            "model_weights_layer_names": h5_str_list(mw.attrs["layer_names"]),
            "wrapped_layer_model_config_example": example,
            "wrapped_layer_model_config": {
                "class_name": "PruneLowMagnitude",
                "layer_name": "'prune_low_magnitude_' + inner layer name",
                "config_keys": sorted(example["config"].keys()),
                "inner_layer_config_path": "layers[i].config.layer (keys: "
                                           + ", ".join(sorted(example["config"]["layer"].keys()))
                                           + "); the inner layer's own config is layers[i].config.layer.config",
            },
            "wrapper_weight_groups": {k: {"weight_names": list(v.keys()), "datasets": v} for k, v in groups.items()},
            "h5_dataset_path_rule": ("model_weights/<wrapper name>/<weight name>: inner weights under the "
                                     "INNER layer name (e.g. model_weights/prune_low_magnitude_conv1/conv1/kernel:0), "
                                     "mask/threshold/pruning_step under the wrapper name"),
            "optimizer_weight_names": h5_str_list(opt.attrs["weight_names"]) if opt is not None else [],
            "kernel_sparsity": sparsity,
        }


def generate_pruned_tfmot(spec, out_root):
    tfmot = import_tfmot()
    name = spec["name"]
    d = os.path.join(out_root, "models", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    x = make_input(spec["input_shape"], SEED)
    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(SEED)
    model = build_pruned_tfmot(tfmot)
    train_pruned(tfmot, model)
    y_mem = predict(model, x)
    h5 = os.path.join(d, "tfkeras.h5")
    model.save(h5)  # no strip_pruning: PruneLowMagnitude wrappers + mask/threshold/pruning_step
    with tfmot.sparsity.keras.prune_scope():
        reloaded = tf_keras.models.load_model(h5)
    yt = predict(reloaded, x)
    stripped = tfmot.sparsity.keras.strip_pruning(reloaded)
    ys = predict(stripped, x)
    assert np.array_equal(yt, y_mem), float(np.max(np.abs(yt - y_mem)))
    assert np.array_equal(ys, yt), float(np.max(np.abs(ys - yt)))
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output_tfkeras.npy"), yt)
    np.save(os.path.join(d, "output_stripped.npy"), ys)
    tfl = convert_tflite(stripped)
    with open(os.path.join(d, "tf.tflite"), "wb") as f:
        f.write(tfl)

    facts = pruned_h5_facts(h5)
    for inner, e in facts["kernel_sparsity"].items():
        if e["has_mask"]:
            assert e["kernel_equals_kernel_times_mask"] and e["zeros"] == e["size"] // 2, (inner, e)
    info = {
        "name": name,
        "input_shape": list(spec["input_shape"]),
        "input_npy_shape": list(x.shape),
        "output_shape": list(yt.shape),
        "layers": sorted(class_names(model) | {type(l.layer).__name__ for l in model.layers
                                               if hasattr(l, "pruning_schedule")}),
        "wrapper_class": "PruneLowMagnitude",
        "files": ["tfkeras.h5 (tf_keras only: tfmot does not support Keras 3)", "input.npy",
                  "output_tfkeras.npy (reloaded wrapped model, prune_scope)",
                  "output_stripped.npy (strip_pruning of it; asserted == output_tfkeras.npy)",
                  "tf.tflite (TFLiteConverter.from_keras_model(stripped tf_keras model))"],
        "note": spec["note"],
        "input_data": f"RandomState({SEED}).normal(0,1)",
        "weights": (f"fill_weights(seed={SEED}) on the unwrapped base model, then wrapped (clone_model) and "
                    f"trained: Adam(1e-3), categorical_crossentropy, 3 epochs x 4 batches of 8 samples of "
                    f"RandomState({SEED + 1}) data, shuffle=False, UpdatePruningStep callback"),
        "pruning": "prune_low_magnitude(ConstantSparsity(target_sparsity=0.5, begin_step=0, frequency=1)), "
                   "block_size (1,1), saved without strip_pruning",
        "h5_layout": facts,
        "max_abs_diff_stripped_vs_tfkeras": float(np.max(np.abs(ys - yt))),
        "max_abs_diff_tflite_vs_tfkeras": float(np.max(np.abs(run_tflite(tfl, x) - yt))),
        "versions": {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                     "tensorflow_model_optimization": tfmot.__version__,
                     "h5py": h5py.__version__, "numpy": np.__version__},
    }
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    sp = ", ".join(f"{k} {e['zeros']}/{e['size']}" for k, e in facts["kernel_sparsity"].items())
    print(f"[gen] {name}: out {yt.shape}, kernel zeros {sp}, stripped==wrapped, "
          f"tflite-vs-tfkeras {info['max_abs_diff_tflite_vs_tfkeras']:.3g}", flush=True)


def check_pruned_tfmot(spec, out_root, check):
    tfmot = import_tfmot()
    d = os.path.join(out_root, "models", spec["name"])
    x = np.load(os.path.join(d, "input.npy"))
    yt = np.load(os.path.join(d, "output_tfkeras.npy"))
    ys = np.load(os.path.join(d, "output_stripped.npy"))
    check(x.dtype == np.float32 and x.shape[0] == 2, f"input {x.shape} {x.dtype}")
    check(np.array_equal(ys, yt), "output_stripped.npy == output_tfkeras.npy")
    h5 = os.path.join(d, "tfkeras.h5")
    try:
        tf_keras.models.load_model(h5, compile=False)
        check(False, "tfkeras.h5 should need prune_scope() to load")
    except ValueError:
        check(True, "tfkeras.h5 needs prune_scope() (unknown layer PruneLowMagnitude)")
    with tfmot.sparsity.keras.prune_scope():
        m = tf_keras.models.load_model(h5, compile=False)
    wrapped = [l for l in m.layers if type(l).__name__ == "PruneLowMagnitude"]
    check([l.layer.name for l in wrapped] == list(PRUNED_WRAPPED),
          f"wrapped layers {[l.name for l in wrapped]}")
    r = predict(m, x)
    check(np.allclose(r, yt, atol=1e-6), f"tfkeras.h5 reload (prune_scope) max err {np.max(np.abs(r - yt)):.2g}")
    r = predict(tfmot.sparsity.keras.strip_pruning(m), x)
    check(np.allclose(r, ys, atol=1e-6), f"strip_pruning(reload) max err {np.max(np.abs(r - ys)):.2g}")
    facts = pruned_h5_facts(h5)
    with open(os.path.join(d, "info.json")) as f:
        info = json.load(f)
    check(info["h5_layout"] == json.loads(json.dumps(facts)), "info.json h5_layout matches tfkeras.h5")
    for inner, e in facts["kernel_sparsity"].items():
        if e["has_mask"]:
            check(e["kernel_equals_kernel_times_mask"] and e["zeros"] == e["size"] // 2,
                  f"{e['kernel']}: {e['zeros']}/{e['size']} zeros, kernel == kernel*mask")
        else:
            check(e["zeros"] == 0, f"{e['kernel']}: no mask (tfmot registry prunes nothing in {inner}), dense")
    r = run_tflite(os.path.join(d, "tf.tflite"), x)
    err = float(np.max(np.abs(r - yt)))
    check(err <= 1e-5, f"tf.tflite (LiteRT) vs tfkeras max err {err:.2g}")


# --------------------------------------------------------------------------
# chexnet_trained: a small TRAINED CheXNet-shaped model + synthetic labelled data
# --------------------------------------------------------------------------
# Synthetic 64x64 8-bit "radiographs" with the 14 ChestX-ray14 findings (multi-label),
# generated deterministically (one RandomState per image, keyed by split and index);
# a tiny keras.applications-style DenseNet inside a Sequential (as CheXNet is built)
# trained on 2000 of them; reference AUROC numbers for Keras, TensorFlow's converter
# (float32/float16/dynamic/int8 run in LiteRT) and a magnitude-pruning + BatchNorm
# re-estimation experiment.  Data in golden/data/chexnet/, model in
# golden/models/chexnet_trained/.

CHEX_NAME = "chexnet_trained"
CHEX_DATA = ("data", "chexnet")
CHEX_FINDINGS = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
                 "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]
CHEX_PREVALENCE = [0.30, 0.22, 0.35, 0.40, 0.15, 0.20, 0.15, 0.14, 0.18, 0.16, 0.12, 0.13, 0.17, 0.10]
CHEX_SIZE = 64
# split -> (number of images, hard): "hard" = the noisier test_noisy distribution
CHEX_SPLITS = {"train": (2000, False), "calibration": (100, False), "test": (200, False),
               "test_noisy": (200, True)}
# the test_noisy acquisition: finding strength factor, contrast, brightness offset and pixel
# noise ranges (the clean splits: 1.0, 0.9-1.1, -0.03-0.03, 0.005-0.01)
CHEX_HARD = dict(finding=0.7, contrast=(0.7, 0.85), fog=(0.03, 0.08), noise=(0.025, 0.035))
CHEX_FILE_PREFIX = {"calibration": "calib", "test": "test", "test_noisy": "noisy"}
CHEX_ARCH = dict(growth=16, blocks=(3, 3, 3), stem_filters=32)
CHEX_TRAIN = dict(epochs=20, batch_size=32, learning_rate=3e-3, init_seed=SEED, shuffle_seed=5)
CHEX_PRUNE_SPARSITIES = (0.5, 0.7, 0.8)
# test.npy (9.8 MB) is exactly the preprocessed test PNGs; set False to stop writing/checking it
# The preprocessed .npy copies of the PNGs (14.7 MB) are not kept: h5tolite reads the PNG
# folders itself (--data/--calibration FOLDER --preprocess torch), which is what users do.
CHEX_TEST_NPY = False
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
# DICOM copies of test images: (file index, photometric, bits stored, slope, intercept, k, s0, window)
# stored = k * g + s0 (MONOCHROME2) or k * (255 - g) + s0 (MONOCHROME1), g = the PNG gray level;
# with a window, center/width are chosen so that the LINEAR VOI function maps the modality value
# exactly back to g (MONOCHROME1: 255 - g before the inversion).
CHEX_DICOM = ([(i, "MONOCHROME2", 12, 1.0, 0.0, 16, 8, False) for i in range(5)]
              + [(i, "MONOCHROME2", 16, 0.5, -1024.0, 256, 64, True) for i in range(5, 10)]
              + [(10, "MONOCHROME1", 16, 2.0, -100.0, 64, 32, True),
                 (11, "MONOCHROME1", 12, 1.0, 0.0, 16, 8, False)])


def chex_dir(out_root, *parts):
    return os.path.join(out_root, *CHEX_DATA, *parts)


def _smooth_noise(rng, sigma_px, n=CHEX_SIZE):
    """Gaussian-filtered white noise (FFT), unit standard deviation."""
    w = rng.normal(size=(n, n))
    f = np.fft.fftfreq(n)
    g = np.exp(-2 * (np.pi * sigma_px) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    r = np.real(np.fft.ifft2(np.fft.fft2(w) * g))
    return r / (r.std() + 1e-12)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _ellipse(yy, xx, cy, cx, ry, rx, soft=0.02):
    d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    return _sig((1.0 - d) / soft)


def chex_image(rng, labels, hard=False):
    """One synthetic frontal chest radiograph, float in [0, 1] (before 8-bit rounding).
    Coordinates are fractions of the image (y down, x right; the patient's left is on the
    image's right).  labels: 14 booleans in CHEX_FINDINGS order.  hard=True is the
    test_noisy distribution (CHEX_HARD): weaker findings, lower contrast, a brightness
    offset (fog) and more pixel noise."""
    c = np.linspace(0.5 / CHEX_SIZE, 1 - 0.5 / CHEX_SIZE, CHEX_SIZE)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    fk = CHEX_HARD["finding"] if hard else 1.0

    def k():  # strength of one finding
        return fk * rng.uniform(0.6, 1.0)

    dx, dy = rng.uniform(-0.035, 0.035, 2)
    s = rng.uniform(0.93, 1.05)
    body = _ellipse(yy, xx, 0.56 + dy, 0.5 + dx, 0.58 * s, 0.47 * s, 0.03)
    img = -0.03 + 0.51 * body                     # air below 0: clipped to black
    lung_ry = 0.27 * s * np.ones(2)
    lung_rx = 0.15 * s * np.ones(2)
    lung_cy = (0.44 + dy) * np.ones(2)
    lung_cx = np.array([0.5 - 0.19 * s, 0.5 + 0.19 * s]) + dx
    if labels[10]:  # Emphysema: hyperinflated lungs
        lung_ry *= 1.0 + 0.12 * k()
        lung_rx *= 1.0 + 0.08 * k()
    if labels[0]:   # Atelectasis: volume loss of one lung (plus a plate-like band, below)
        side_at = rng.randint(2)
        lung_ry[side_at] *= 1.0 - 0.10 * k()
        lung_cy[side_at] -= 0.02
    lungs = [_ellipse(yy, xx, lung_cy[i], lung_cx[i], lung_ry[i], lung_rx[i], 0.04) for i in range(2)]
    lung = np.maximum(*lungs)
    depth = 0.30
    if labels[10]:  # Emphysema: hyperlucent, fewer markings
        depth += 0.09 * k()
    markings = 0.035 * _smooth_noise(rng, 1.0)
    if labels[10]:
        markings *= 0.4
    img = img - lung * (depth + markings)
    ribs = 0.5 + 0.5 * np.sin(2 * np.pi * 7.0 * (yy - 0.35 * (xx - 0.5 - dx) ** 2) / s + rng.uniform(0, 2 * np.pi))
    img += lung * 0.045 * ribs
    img += 0.16 * _sig((0.05 * s - np.abs(xx - 0.5 - dx)) / 0.012) * body  # spine / mediastinum
    hs = rng.uniform(0.9, 1.05)
    if labels[1]:   # Cardiomegaly: enlarged heart silhouette
        hs = rng.uniform(1.22, 1.45) * (0.92 if hard else 1.0)
    heart = _ellipse(yy, xx, 0.63 + dy, 0.55 + dx, 0.11 * s * hs, 0.14 * s * hs, 0.03)
    img += 0.30 * heart * np.maximum(lung, 0.35)

    def side():
        return rng.randint(2)

    def in_lung(i):  # a random point inside lung i
        a = rng.uniform(0, 2 * np.pi)
        r = np.sqrt(rng.uniform(0, 1)) * 0.65
        return lung_cy[i] + r * lung_ry[i] * np.sin(a), lung_cx[i] + r * lung_rx[i] * np.cos(a)

    def lung_dist(i):  # elliptic radius in lung i (1 = its border)
        return np.sqrt(((yy - lung_cy[i]) / lung_ry[i]) ** 2 + ((xx - lung_cx[i]) / lung_rx[i]) ** 2)

    if labels[0]:   # Atelectasis: plate-like oblique band in the lower zone
        i = side_at
        cy, cx = lung_cy[i] + 0.45 * lung_ry[i], lung_cx[i]
        th = rng.uniform(-0.5, 0.5)
        d = (yy - cy) * np.cos(th) - (xx - cx) * np.sin(th)
        img += 0.30 * k() * np.exp(-0.5 * (d / 0.018) ** 2) * lungs[i]
    if labels[2]:   # Effusion: fluid at the lung base, meniscus climbing laterally
        for i in ([side()] if rng.rand() < 0.7 else [0, 1]):
            h = rng.uniform(0.15, 0.32) * lung_ry[i] * 2
            lateral = (xx - lung_cx[i]) * (1 if lung_cx[i] > 0.5 else -1)
            top = lung_cy[i] + lung_ry[i] - h - 0.9 * np.clip(lateral, 0, None)
            img += 0.34 * k() * _sig((yy - top) / 0.015) * lungs[i]
    if labels[3]:   # Infiltration: patchy texture in a region
        i = side()
        cy, cx = in_lung(i)
        win = np.exp(-0.5 * (((yy - cy) / 0.18) ** 2 + ((xx - cx) / 0.12) ** 2))
        img += 0.26 * k() * win * np.clip(_smooth_noise(rng, 1.2), 0, None) * lung
    if labels[4]:   # Mass: large lobulated blob
        i = side()
        cy, cx = in_lung(i)
        r = rng.uniform(0.065, 0.095)
        ang = np.arctan2(yy - cy, xx - cx)
        rr = r * (1 + 0.15 * np.sin(3 * ang + rng.uniform(0, 6)))
        img += 0.40 * k() * _sig((rr - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)) / 0.01)
    if labels[5]:   # Nodule: 1-3 small round blobs
        for _ in range(rng.randint(1, 4)):
            i = side()
            cy, cx = in_lung(i)
            r = rng.uniform(0.026, 0.04)
            img += 0.45 * k() * _sig((r - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)) / 0.006)
    if labels[6]:   # Pneumonia: ill-defined speckled opacity, mid/lower zone
        i = side()
        cy = lung_cy[i] + rng.uniform(0.0, 0.45) * lung_ry[i]
        cx = lung_cx[i] + rng.uniform(-0.3, 0.3) * lung_rx[i]
        blob = np.exp(-0.5 * (((yy - cy) / 0.09) ** 2 + ((xx - cx) / 0.075) ** 2))
        img += 0.26 * k() * blob * (0.7 + 0.3 * _smooth_noise(rng, 0.7)) * lung
    if labels[7]:   # Pneumothorax: apical-lateral rim, darker and without markings, pleural line
        i = side()
        sgn = -1 if lung_cx[i] < 0.5 else 1
        frac = rng.uniform(0.55, 0.72)
        d_in = lung_dist(i)
        upper_lat = (_sig(((lung_cy[i] + 0.2 * lung_ry[i]) - yy) / 0.03)
                     * _sig(sgn * (xx - lung_cx[i] + 0.3 * lung_rx[i]) / 0.03))
        rim = _sig((d_in - frac) / 0.02) * lungs[i] * upper_lat
        img -= rim * (0.16 * k() - markings - lung * 0.045 * ribs)
        img += 0.16 * k() * np.exp(-0.5 * ((d_in - frac) / 0.02) ** 2) * lungs[i] * upper_lat
    if labels[8]:   # Consolidation: dense homogeneous lobar opacity with a sharp fissure edge
        i = side()
        upper = rng.rand() < 0.5
        edge = lung_cy[i] + (-0.15 if upper else 0.25) * lung_ry[i] + rng.uniform(-0.08, 0.08)
        region = _sig(((edge - yy) if upper else (yy - edge)) / 0.012)
        img += 0.30 * k() * region * lungs[i] * (1 - 0.5 * heart)
    if labels[9]:   # Edema: bilateral perihilar haze + Kerley B lines
        kk = k()
        for i in range(2):
            hx = lung_cx[i] + (0.45 if lung_cx[i] < 0.5 else -0.45) * lung_rx[i]
            img += 0.18 * kk * np.exp(-0.5 * (((yy - lung_cy[i] - 0.05) / 0.13) ** 2
                                             + ((xx - hx) / 0.09) ** 2)) * lungs[i]
            lat = (_sig((np.abs(xx - lung_cx[i]) - 0.6 * lung_rx[i]) / 0.02)
                   * _sig((yy - lung_cy[i] - 0.3 * lung_ry[i]) / 0.03))
            img += 0.10 * kk * lat * (np.sin(2 * np.pi * yy * 20) > 0.7) * lungs[i]
    if labels[11]:  # Fibrosis: reticular net, lower periphery of both lungs
        kk = k()
        net = (np.abs(_smooth_noise(rng, 0.8)) < 0.5).astype(float)
        for i in range(2):
            per = _sig((lung_dist(i) - 0.45) / 0.08)
            img += 0.24 * kk * net * per * _sig((yy - lung_cy[i]) / 0.05) * lungs[i]
    if labels[12]:  # Pleural thickening: bright band along the lateral border / apical cap
        i = side()
        sgn = -1 if lung_cx[i] < 0.5 else 1
        band = np.exp(-0.5 * ((lung_dist(i) - 0.93) / 0.05) ** 2)
        where = _sig(sgn * (xx - lung_cx[i]) / 0.03) + _sig((lung_cy[i] - 0.6 * lung_ry[i] - yy) / 0.03)
        img += 0.28 * k() * band * np.clip(where, 0, 1)
    if labels[13]:  # Hernia: retrocardiac round opacity with an air bubble
        cy = 0.70 + dy + rng.uniform(-0.02, 0.03)
        cx = 0.5 + dx + rng.uniform(-0.04, 0.04)
        r = rng.uniform(0.06, 0.08)
        kk = k()
        img += 0.22 * kk * _sig((r - np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)) / 0.01)
        img -= 0.22 * kk * _sig((0.45 * r - np.sqrt((yy - cy + 0.3 * r) ** 2 + (xx - cx) ** 2)) / 0.008)
    # acquisition: contrast, brightness, pixel noise
    if hard:
        a, b, sn = (rng.uniform(*CHEX_HARD[key]) for key in ("contrast", "fog", "noise"))
    else:
        a, b, sn = rng.uniform(0.9, 1.1), rng.uniform(-0.03, 0.03), rng.uniform(0.005, 0.01)
    img = np.clip(a * img + b + sn * rng.normal(size=img.shape), 0.0, 1.0)
    # burnt-in side marker "R" (white, 3x5 pixels, top right), in every image
    my, mx = 2 + rng.randint(3), 55 + rng.randint(3)
    glyph = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [1, 0, 1], [1, 0, 1]], bool)
    img[my:my + 5, mx:mx + 3][glyph] = 1.0
    return img


def chex_images(split):
    """uint8 (N, 64, 64) images and float32 (N, 14) multi-hot labels of one split.  Image j
    uses RandomState(crc32('chexnet:<split>:<j>')): the labels are its first 14 uniforms
    (finding f present if u_f < CHEX_PREVALENCE[f]), then chex_image draws from it."""
    n, hard = CHEX_SPLITS[split]
    imgs = np.zeros((n, CHEX_SIZE, CHEX_SIZE), np.uint8)
    labels = np.zeros((n, len(CHEX_FINDINGS)), np.float32)
    p = np.array(CHEX_PREVALENCE)
    for j in range(n):
        rng = np.random.RandomState(zlib.crc32(f"chexnet:{split}:{j}".encode()))
        lab = rng.rand(len(CHEX_FINDINGS)) < p
        imgs[j] = np.round(chex_image(rng, lab, hard) * 255.0).astype(np.uint8)
        labels[j] = lab
    return imgs, labels


def chex_preprocess(gray):
    """uint8 (N, H, W) gray -> float32 (N, H, W, 3): gray replicated to RGB, then
    keras.applications.densenet.preprocess_input ('torch' mode: x/255, minus the ImageNet
    mean, over the ImageNet std, per channel, in float32)."""
    x = np.repeat(gray[..., None], 3, axis=-1).astype(np.float32)
    y = keras.applications.densenet.preprocess_input(x.copy())
    ref = (x / np.float32(255.0) - np.array(TORCH_MEAN, np.float32)) / np.array(TORCH_STD, np.float32)
    assert y.dtype == np.float32 and np.array_equal(y, ref), "preprocess_input is not the torch formula"
    return y


def build_chexnet_trained(K):
    """Sequential([tiny keras.applications-style DenseNet (include_top=False), GAP,
    Dense(14, sigmoid)]) on 64x64x3.  tf_keras spells inner names 'conv1/conv'."""
    inner = build_mini_densenet(K, include_top=False, name="densenet_tiny", slash_names=not is_keras3(K),
                                input_shape=(CHEX_SIZE, CHEX_SIZE, 3), **CHEX_ARCH)
    return K.Sequential([
        inner,
        K.layers.GlobalAveragePooling2D(name="global_average_pooling2d"),
        K.layers.Dense(len(CHEX_FINDINGS), activation="sigmoid", name="dense"),
    ], name="sequential")


def chex_train(x, y):
    """Keras 3, default initializers seeded by set_random_seed, Adam with cosine decay,
    binary cross-entropy; one numpy permutation per epoch (fit with shuffle=False), so
    the run is reproducible.  Returns the weights and the per-epoch losses."""
    t = CHEX_TRAIN
    keras.backend.clear_session()
    keras.utils.set_random_seed(t["init_seed"])
    model = build_chexnet_trained(keras)
    steps = t["epochs"] * int(np.ceil(len(x) / t["batch_size"]))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(t["learning_rate"], steps)),
                  loss="binary_crossentropy")
    rng = np.random.RandomState(t["shuffle_seed"])
    losses = []
    for _ in range(t["epochs"]):
        perm = rng.permutation(len(x))
        h = model.fit(x[perm], y[perm], batch_size=t["batch_size"], epochs=1, shuffle=False, verbose=0)
        losses.append(round(float(h.history["loss"][-1]), 6))
    return model.get_weights(), losses


def chex_models(weights):
    """Fresh (uncompiled) Keras 3 and tf_keras models holding the trained weights; the
    tf_keras weights are copied by (layer name with '/'->'_', weight kind)."""
    keras.backend.clear_session()
    tf_keras.backend.clear_session()
    km = build_chexnet_trained(keras)
    km.set_weights(weights)
    tm = build_chexnet_trained(tf_keras)
    wk = weights_by_key(km)
    for layer in leaf_layers(tm):
        if layer.weights:
            layer.set_weights([wk[(norm_name(layer.name), weight_kind(w, layer))] for w in layer.weights])
    wt = weights_by_key(tm)
    assert wk.keys() == wt.keys() and all(np.array_equal(wk[k], wt[k]) for k in wk)
    return km, tm


def auroc_table(y_true, scores):
    """Per-finding AUROC (scikit-learn roc_auc_score) and their mean."""
    from sklearn.metrics import roc_auc_score
    per = {f: float(roc_auc_score(y_true[:, i], scores[:, i])) for i, f in enumerate(CHEX_FINDINGS)}
    return {"mean": float(np.mean(list(per.values()))), "per_finding": per}


def run_tflite_batch1(model_bytes, x):
    """LiteRT (default op resolver), one interpreter, batch 1 per sample; float32 output."""
    it = Interpreter(model_content=model_bytes)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert inp["dtype"] == np.float32 and out["dtype"] == np.float32
    ys = []
    for i in range(x.shape[0]):
        it.set_tensor(inp["index"], x[i:i + 1])
        it.invoke()
        ys.append(it.get_tensor(out["index"]).copy())
    return np.concatenate(ys, 0).astype(np.float32)


def chex_bn_layers(inner):
    return [l for l in inner.layers if type(l).__name__ == "BatchNormalization"]


def chex_prune(km, sparsity):
    """Magnitude pruning without retraining, per layer: in every Conv2D/Dense kernel except
    the first conv (conv1_conv) and the head (dense), zero the int(n * sparsity) entries
    of smallest |w| (stable argsort: ties by flat index, as h5tolite's prune-weights pass
    counts them).  Returns {layer: zeros/size}."""
    inner = km.layers[0]
    convs = [l for l in inner.layers if type(l).__name__ == "Conv2D"]
    targets = convs[1:]  # the head (dense) is the only Dense and is kept as well
    stats = {}
    for layer in targets:
        w = layer.get_weights()
        k = w[0].reshape(-1).copy()
        n = int(k.size * sparsity)
        k[np.argsort(np.abs(k), kind="stable")[:n]] = 0.0
        layer.set_weights([k.reshape(w[0].shape)] + w[1:])
        stats[layer.name] = [int(np.sum(k == 0)), int(k.size)]
    return stats


def chex_reestimate_bn(km, cal):
    """BatchNorm re-estimation on the calibration images: for every BatchNormalization of the
    inner model, in graph order, set moving_mean / moving_variance to the mean and the
    population (biased) variance of its input over all calibration pixels (N*H*W per
    channel, accumulated in float64), the earlier BN layers already re-estimated; gamma,
    beta and epsilon are kept.  Equivalent to one training-mode pass over the whole
    calibration batch with momentum 0 (checked: chex_reestimate_bn_training_mode)."""
    inner = km.layers[0]
    for bn in chex_bn_layers(inner):
        a = keras.Model(inner.inputs, bn.input).predict(cal, verbose=0, batch_size=len(cal)).astype(np.float64)
        mean = a.mean(axis=(0, 1, 2))
        var = ((a - mean) ** 2).mean(axis=(0, 1, 2))
        gamma, beta, _, _ = bn.get_weights()
        bn.set_weights([gamma, beta, mean.astype(np.float32), var.astype(np.float32)])


def chex_reestimate_bn_training_mode(km, cal):
    """The same by Keras itself: momentum 0, one call in training mode on the whole batch."""
    bns = chex_bn_layers(km.layers[0])
    saved = [b.momentum for b in bns]
    for b in bns:
        b.momentum = 0.0
    km(cal, training=True)
    for b, m in zip(bns, saved):
        b.momentum = m


def chex_pruning_experiment(weights, cal, xte, yte):
    """Mean AUROC on test for each sparsity: pruned as is, then after BN re-estimation.
    Sparsity 0.0 = the unpruned model, with BN re-estimation as a control."""
    out = {}
    for s in (0.0,) + CHEX_PRUNE_SPARSITIES:
        km, _ = chex_models(weights)
        zeros = chex_prune(km, s) if s > 0 else {}
        pruned = auroc_table(yte, predict(km, xte))
        chex_reestimate_bn(km, cal)
        reest = auroc_table(yte, predict(km, xte))
        # cross-check against Keras' own training-mode statistics
        k2, _ = chex_models(weights)
        if s > 0:
            chex_prune(k2, s)
        chex_reestimate_bn_training_mode(k2, cal)
        diff = 0.0  # |d mean| / std and |d variance| / variance, max over BN channels
        for bn1, bn2 in zip(chex_bn_layers(km.layers[0]), chex_bn_layers(k2.layers[0])):
            (m1, v1), (m2, v2) = bn1.get_weights()[2:], bn2.get_weights()[2:]
            diff = max(diff, float(np.max(np.abs(m1 - m2) / np.sqrt(v1))), float(np.max(np.abs(v1 - v2) / v1)))
        total = [sum(v[0] for v in zeros.values()), sum(v[1] for v in zeros.values())]
        out[f"{s:.1f}"] = {
            "sparsity": s,
            "pruned_layers": len(zeros),
            "zeros_in_pruned_kernels": total,
            "mean_auroc_test": pruned["mean"],
            "mean_auroc_test_bn_reestimated": reest["mean"],
            "per_finding_auroc_test": pruned["per_finding"],
            "per_finding_auroc_test_bn_reestimated": reest["per_finding"],
            "bn_stats_max_rel_diff_vs_training_mode": diff,
            "zeros_per_layer": zeros,
        }
    return out


def chex_write_pngs(folder, prefix, imgs):
    from PIL import Image
    os.makedirs(folder)
    names = []
    for j, im in enumerate(imgs):
        name = f"{prefix}_{j:04d}.png"
        Image.fromarray(im).save(os.path.join(folder, name), optimize=True)
        names.append(name)
    return names


def chex_read_pngs(folder, names):
    from PIL import Image
    return np.stack([np.asarray(Image.open(os.path.join(folder, n))) for n in names])


def chex_write_csv(path, names, labels):
    """ChestX-ray14-style label table: 'Image Index', then one 0/1 column per finding."""
    with open(path, "w", newline="") as f:
        f.write(",".join(["Image Index"] + CHEX_FINDINGS) + "\n")
        for n, row in zip(names, labels):
            f.write(",".join([n] + [str(int(v)) for v in row]) + "\n")


def chex_read_csv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].split(",")
    rows = [l.split(",") for l in lines[1:]]
    return header, [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows], np.float32)


def chex_dicom_params(spec):
    i, photometric, bits, slope, intercept, k, s0, window = spec
    p = {"file": f"test_{i:04d}.dcm", "source_png": f"test/test_{i:04d}.png",
         "PhotometricInterpretation": photometric, "BitsAllocated": 16, "BitsStored": bits, "HighBit": bits - 1,
         "PixelRepresentation": 0, "RescaleSlope": slope, "RescaleIntercept": intercept,
         "stored_value": (f"{k} * g + {s0}" if photometric == "MONOCHROME2" else f"{k} * (255 - g) + {s0}")
         + " (g = the PNG's gray level)"}
    if window:
        width = slope * k * 255 + 1
        p["WindowWidth"] = width
        p["WindowCenter"] = slope * s0 + intercept + 0.5 + (width - 1) / 2
    return p


def chex_write_dicoms(folder, test_imgs, test_labels):
    """DICOM copies of the first test images (pydicom, explicit VR little endian, DX
    for presentation).  Every clean image holds a 0 and a 255 pixel, so both the
    window (when present) and a min-max normalisation of the modality values give
    back the PNG's gray levels exactly (MONOCHROME1: after the inversion)."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    os.makedirs(folder)
    entries = []
    for spec in CHEX_DICOM:
        i, photometric, bits, slope, intercept, k, s0, window = spec
        p = chex_dicom_params(spec)
        g = test_imgs[i].astype(np.int64)
        assert g.min() == 0 and g.max() == 255
        stored = (k * g + s0) if photometric == "MONOCHROME2" else (k * (255 - g) + s0)
        assert stored.max() < 2 ** bits
        uid = generate_uid(entropy_srcs=["h5tolite golden chexnet", p["file"]])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image, For Presentation
        meta.MediaStorageSOPInstanceUID = uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
        path = os.path.join(folder, p["file"])
        ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = uid
        ds.StudyInstanceUID = generate_uid(entropy_srcs=["h5tolite golden chexnet study", p["file"]])
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=["h5tolite golden chexnet series", p["file"]])
        ds.Modality = "DX"
        ds.PatientName = f"Synthetic^{i:04d}"
        ds.PatientID = f"SYN{i:04d}"
        ds.StudyDate = "20200101"
        ds.ViewPosition = "PA"
        ds.BodyPartExamined = "CHEST"
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.Rows, ds.Columns = g.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
        ds.PixelRepresentation = 0
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = f"{intercept:g}"
        ds.RescaleType = "US"
        if window:
            ds.WindowCenter = f"{p['WindowCenter']:g}"
            ds.WindowWidth = f"{p['WindowWidth']:g}"
        ds.PixelData = stored.astype("<u2").tobytes()
        ds.save_as(path, enforce_file_format=True)
        assert np.array_equal(pydicom.dcmread(path).pixel_array, stored)
        entries.append(p)
    n = len(CHEX_DICOM)
    chex_write_csv(os.path.join(os.path.dirname(folder), "dicom_labels.csv"),
                   [e["file"] for e in entries], test_labels[[s[0] for s in CHEX_DICOM]])
    return entries, n


def chex_dicom_gray(path):
    """A DICOM file's display values (0..255, unrounded) the way PS3.3 C.11 reads them:
    rescale, first LINEAR window if any, else min-max; MONOCHROME1 inverted."""
    import pydicom
    ds = pydicom.dcmread(path)
    v = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    if "WindowCenter" in ds:
        c, w = float(ds.WindowCenter), float(ds.WindowWidth)
        y = np.clip(((v - (c - 0.5)) / (w - 1) + 0.5) * 255, 0, 255)
        y[v <= c - 0.5 - (w - 1) / 2] = 0
    else:
        y = (v - v.min()) / (v.max() - v.min()) * 255
    return 255 - y if ds.PhotometricInterpretation == "MONOCHROME1" else y


def chex_tflite_variants(km, cal):
    out = {"float32": convert_tflite(km)}
    for v in QUANT:
        out[v] = convert_quantized(km, v, cal)
    return out


CHEX_TFLITE_FILES = {"float32": "tf.tflite", "float16": "tf_float16.tflite", "dynamic": "tf_dynamic.tflite",
                     "int8": "tf_int8.tflite"}


def chex_evaluate(km, tfl, xte, yte, xno, yno):
    """Keras and every TensorFlow variant (LiteRT) on test and test_noisy."""
    pk_te, pk_no = predict(km, xte), predict(km, xno)
    res = {"keras3": {"test": auroc_table(yte, pk_te), "test_noisy": auroc_table(yno, pk_no)}}
    base = res["keras3"]["test"]["mean"]
    for v, b in tfl.items():
        p_te, p_no = run_tflite_batch1(b, xte), run_tflite_batch1(b, xno)
        e = {"file": CHEX_TFLITE_FILES[v], "bytes": len(b), "size_vs_float32": round(len(b) / len(tfl["float32"]), 4),
             "test": auroc_table(yte, p_te), "test_noisy": auroc_table(yno, p_no),
             "max_abs_diff_vs_keras3_test": float(np.max(np.abs(p_te - pk_te))),
             "max_abs_diff_vs_keras3_test_noisy": float(np.max(np.abs(p_no - pk_no)))}
        e["mean_auroc_change_vs_keras3_test"] = e["test"]["mean"] - base
        res[f"tf_{v}"] = e
    return res, pk_te


def generate_chexnet_trained(spec, out_root):
    import time
    d = os.path.join(out_root, "models", CHEX_NAME)
    dd = chex_dir(out_root)
    for p in (d, dd):
        if os.path.isdir(p):
            shutil.rmtree(p)
    os.makedirs(d)
    os.makedirs(dd)
    t0 = time.time()
    data = {s: chex_images(s) for s in CHEX_SPLITS}
    xtr = chex_preprocess(data["train"][0])
    t1 = time.time()
    weights, losses = chex_train(xtr, data["train"][1])
    t2 = time.time()
    km, tm = chex_models(weights)

    # data: PNGs, label tables, preprocessed arrays
    names = {}
    for s in ("calibration", "test", "test_noisy"):
        imgs, labels = data[s]
        names[s] = chex_write_pngs(chex_dir(out_root, s), CHEX_FILE_PREFIX[s], imgs)
        chex_write_csv(chex_dir(out_root, f"{s}_labels.csv"), names[s], labels)
        if s != "calibration":
            np.save(chex_dir(out_root, f"{s}_labels.npy"), labels)
    cal = chex_preprocess(chex_read_pngs(chex_dir(out_root, "calibration"), names["calibration"]))
    xte = chex_preprocess(chex_read_pngs(chex_dir(out_root, "test"), names["test"]))
    xno = chex_preprocess(chex_read_pngs(chex_dir(out_root, "test_noisy"), names["test_noisy"]))
    if CHEX_TEST_NPY:
        np.save(chex_dir(out_root, "calibration.npy"), cal)
        np.save(chex_dir(out_root, "test.npy"), xte)
    dicoms, _ = chex_write_dicoms(chex_dir(out_root, "dicom"), data["test"][0], data["test"][1])

    # model files
    x = xte[:2]
    yk, yt = save_model_files(d, km, tm, x)
    tfl = chex_tflite_variants(km, cal)
    for v, b in tfl.items():
        with open(os.path.join(d, CHEX_TFLITE_FILES[v]), "wb") as f:
            f.write(b)
    t3 = time.time()
    metrics, pk_te = chex_evaluate(km, tfl, xte, data["test"][1], xno, data["test_noisy"][1])
    pruning = chex_pruning_experiment(weights, cal, xte, data["test"][1])
    t4 = time.time()

    prev = {s: {f: round(float(v), 4) for f, v in zip(CHEX_FINDINGS, data[s][1].mean(0))} for s in CHEX_SPLITS}
    info = {
        "name": CHEX_NAME,
        "input_shape": [CHEX_SIZE, CHEX_SIZE, 3],
        "input_npy_shape": list(x.shape),
        "output_shape": list(yk.shape),
        "classes": CHEX_FINDINGS,
        "layers": sorted(class_names(km) | class_names(tm)),
        "note": spec["note"],
        "architecture": {
            "outer": "Sequential([densenet_tiny (Functional, include_top=False), GlobalAveragePooling2D, "
                     "Dense(14, sigmoid)])",
            "inner": "build_mini_densenet: ZeroPadding2D(3) + Conv 7x7/2 no bias + BN + ReLU, ZeroPadding2D(1) + "
                     "MaxPool 3/2, dense blocks conv2/conv3/conv4 with transitions pool2/pool3 (BN, ReLU, 1x1 "
                     "conv to half the channels, AvgPool 2/2), final BN + ReLU; conv block = BN, ReLU, 1x1 conv "
                     "(4*growth), BN, ReLU, 3x3 conv (growth), Concatenate; BN epsilon 1.001e-5",
            **{k: list(v) if isinstance(v, tuple) else v for k, v in CHEX_ARCH.items()},
            "parameters": int(km.count_params()),
            "trainable_parameters": int(sum(np.prod(w.shape) for w in km.trainable_weights)),
            "conv2d_layers": len([l for l in km.layers[0].layers if type(l).__name__ == "Conv2D"]),
            "batchnorm_layers": len(chex_bn_layers(km.layers[0])),
            "names": "keras3.h5 / model.keras: Keras 3 spelling (conv1_conv); tfkeras.h5: tf_keras applications "
                     "spelling (conv1/conv); outer layers global_average_pooling2d, dense",
        },
        "preprocessing": ("gray uint8 replicated to 3 channels, then keras.applications.densenet.preprocess_input "
                          "('torch' mode), OUTSIDE the model: float32 (x / 255 - mean) / std with mean "
                          f"{list(TORCH_MEAN)}, std {list(TORCH_STD)} (RGB order)"),
        "training": {
            "framework": f"Keras {keras.__version__} (TensorFlow backend, CPU)",
            "data": f"{CHEX_SPLITS['train'][0]} synthetic clean images, split 'train' (not stored; "
                    "chex_images('train') regenerates them)",
            "loss": "binary_crossentropy", "optimizer": "Adam",
            "learning_rate": f"CosineDecay({CHEX_TRAIN['learning_rate']}, decay_steps=epochs*steps_per_epoch)",
            "epochs": CHEX_TRAIN["epochs"], "batch_size": CHEX_TRAIN["batch_size"],
            "initializers": f"Keras defaults after keras.utils.set_random_seed({CHEX_TRAIN['init_seed']})",
            "shuffle": f"numpy RandomState({CHEX_TRAIN['shuffle_seed']}).permutation per epoch, fit(shuffle=False)",
            "loss_per_epoch": losses,
            "saved": "weights copied into a fresh, uncompiled model before saving: no training_config, no "
                     "optimizer_weights in the files",
        },
        "data": {
            "folder": "golden/data/chexnet",
            "generator": "chex_images(split) / chex_image in golden/generate.py; image j of a split uses "
                         "RandomState(crc32('chexnet:<split>:<j>'))",
            "splits": {s: {"images": CHEX_SPLITS[s][0], "distribution": "noisy/hard" if CHEX_SPLITS[s][1] else "clean",
                           "prevalence": prev[s]} for s in CHEX_SPLITS},
            "prevalence_target": dict(zip(CHEX_FINDINGS, CHEX_PREVALENCE)),
            "csv_layout": "header 'Image Index,' + ','.join(classes); one row per image: file name, then 0/1 "
                          "per finding (no quoting, '\\n' line ends)",
            "files": {
                "calibration/calib_NNNN.png": "100 clean images, 8-bit gray PNG 64x64",
                "calibration_labels.csv": "their labels (calibration needs none; for completeness)",
                "calibration.npy": "float32 (100, 64, 64, 3): the calibration PNGs preprocessed",
                "test/test_NNNN.png": "200 clean images", "test_labels.csv": "labels",
                "test.npy": "float32 (200, 64, 64, 3): the test PNGs preprocessed",
                "test_labels.npy": "float32 (200, 14) multi-hot",
                "test_noisy/noisy_NNNN.png": "200 noisy/harder images", "test_noisy_labels.csv": "labels",
                "test_noisy_labels.npy": "float32 (200, 14) multi-hot (no test_noisy.npy: size; preprocess the PNGs)",
                "dicom/test_NNNN.dcm": f"{len(CHEX_DICOM)} DICOM copies of test_0000..test_{len(CHEX_DICOM) - 1:04d}",
                "dicom_labels.csv": "their labels (rows of test_labels.csv, file names .dcm)",
            },
            "every_clean_image_has_min_0_and_max_255": True,
            "dicom": {
                "common": "explicit VR little endian, SOP class Digital X-Ray Image Storage - For Presentation, "
                          "Modality DX, 64x64, SamplesPerPixel 1, BitsAllocated 16, PixelRepresentation 0, "
                          "RescaleType US, deterministic UIDs",
                "reading": "rescale (stored * RescaleSlope + RescaleIntercept), then the LINEAR window "
                           "(PS3.3 C.11.2.1.2.1, output 0..255) when present, else min-max to 0..255; "
                           "MONOCHROME1 inverted (255 - y). Every variant gives back the PNG's gray levels "
                           "(exactly, up to float rounding), so DICOM and PNG evaluation agree.",
                "files": dicoms,
            },
        },
        "max_abs_diff_tfkeras_vs_keras3": float(np.max(np.abs(yk - yt))),
        "max_abs_diff_tflite_vs_keras3": float(np.max(np.abs(run_tflite(tfl["float32"], x) - yk))),
        "metrics": {
            "auroc": "scikit-learn roc_auc_score per finding (ties count half), mean over the 14 findings",
            "keras3_auc_metric_test": float(keras_auc(data["test"][1], pk_te)),
            "keras3_auc_metric_note": "keras.metrics.AUC(multi_label=True) (200 thresholds, interpolated): an "
                                      "approximation of the exact mean AUROC above, recorded for comparison",
            "tflite_runs": "LiteRT (ai_edge_litert, default op resolver), batch 1 per sample, float32 in/out",
            "tf_variants": {v: QUANT_VARIANTS.get(v, "TFLiteConverter.from_keras_model, no optimizations")
                            .replace("32 steps", "100 steps") for v in CHEX_TFLITE_FILES},
            "int8_calibration": "representative_dataset = calibration.npy, one [1,64,64,3] sample per step (100 steps)",
            **metrics,
        },
        "pruning_experiment": {
            "what": "magnitude pruning WITHOUT retraining (chex_prune): per layer, the int(n*s) smallest-|w| "
                    "entries of every Conv2D kernel except the first conv (conv1_conv) and of no Dense (the head "
                    "is kept), on the Keras 3 model; mean AUROC on test (Keras) as pruned, then after BatchNorm "
                    "re-estimation (chex_reestimate_bn) on calibration.npy: per BN layer in graph order, "
                    "moving_mean/moving_variance := mean / population variance of its input over all "
                    "calibration pixels, earlier layers already re-estimated. Sparsity 0.0 = unpruned control.",
            "results": pruning,
        },
        "versions": {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__, "keras": keras.__version__,
                     "numpy": np.__version__, **chex_versions()},
    }
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"[gen] {CHEX_NAME}: data {t1 - t0:.1f}s, training {t2 - t1:.1f}s, files {t3 - t2:.1f}s, "
          f"evaluation {t4 - t3:.1f}s; mean AUROC keras test {metrics['keras3']['test']['mean']:.4f} "
          f"noisy {metrics['keras3']['test_noisy']['mean']:.4f}; " + ", ".join(
              f"{v} {metrics['tf_' + v]['test']['mean']:.4f}" for v in CHEX_TFLITE_FILES), flush=True)
    for s, r in pruning.items():
        print(f"  prune {s}: {r['mean_auroc_test']:.4f} -> BN re-estimated {r['mean_auroc_test_bn_reestimated']:.4f}",
              flush=True)


def keras_auc(y_true, scores):
    m = keras.metrics.AUC(multi_label=True, num_labels=len(CHEX_FINDINGS))
    m.update_state(y_true, scores)
    return float(m.result())


def chex_versions():
    import PIL
    import pydicom
    import sklearn
    return {"scikit-learn": sklearn.__version__, "pillow": PIL.__version__, "pydicom": pydicom.__version__,
            "ai_edge_litert": _litert_version()}


def _litert_version():
    try:
        from importlib.metadata import version
        return version("ai-edge-litert")
    except Exception:  # pragma: no cover
        return "unknown"


def check_chexnet_trained(spec, out_root, check):
    d = os.path.join(out_root, "models", CHEX_NAME)
    with open(os.path.join(d, "info.json")) as f:
        info = json.load(f)
    # data: PNGs regenerate bit for bit, labels agree everywhere, arrays are the preprocessed PNGs
    arrays = {}
    for s in ("calibration", "test", "test_noisy"):
        imgs, labels = chex_images(s)
        header, names, csv_labels = chex_read_csv(chex_dir(out_root, f"{s}_labels.csv"))
        png = chex_read_pngs(chex_dir(out_root, s), names)
        files = sorted(os.listdir(chex_dir(out_root, s)))
        check(header == ["Image Index"] + CHEX_FINDINGS and names == files
              and names == [f"{CHEX_FILE_PREFIX[s]}_{j:04d}.png" for j in range(len(imgs))],
              f"{s}_labels.csv: header Image Index + 14 findings, one row per PNG ({len(names)})")
        check(png.dtype == np.uint8 and np.array_equal(png, imgs), f"{s}/*.png == chex_images('{s}') (regenerated)")
        check(np.array_equal(csv_labels, labels), f"{s}_labels.csv == generated labels")
        if s != "calibration":
            lab = np.load(chex_dir(out_root, f"{s}_labels.npy"))
            check(lab.dtype == np.float32 and np.array_equal(lab, labels), f"{s}_labels.npy {lab.shape}")
        if not CHEX_SPLITS[s][1]:
            check(all(im.min() == 0 and im.max() == 255 for im in png), f"{s}: every image has a 0 and a 255 pixel")
        arrays[s] = (chex_preprocess(png), labels)
    for s in ("calibration", "test") if CHEX_TEST_NPY else ():
        a = np.load(chex_dir(out_root, f"{s}.npy"))
        check(a.dtype == np.float32 and np.array_equal(a, arrays[s][0]), f"{s}.npy {a.shape} == preprocessed PNGs")
    cal, (xte, yte), (xno, yno) = arrays["calibration"][0], arrays["test"], arrays["test_noisy"]
    # DICOM
    import pydicom
    header, names, dl = chex_read_csv(chex_dir(out_root, "dicom_labels.csv"))
    check(names == [e["file"] for e in info["data"]["dicom"]["files"]] == sorted(os.listdir(chex_dir(out_root, "dicom")))
          and np.array_equal(dl, yte[[s[0] for s in CHEX_DICOM]]), f"dicom_labels.csv: {len(names)} rows == test rows")
    for spec_d, e in zip(CHEX_DICOM, info["data"]["dicom"]["files"]):
        path = chex_dir(out_root, "dicom", e["file"])
        ds = pydicom.dcmread(path)
        g = chex_read_pngs(chex_dir(out_root), [e["source_png"]])[0]
        y = chex_dicom_gray(path)
        tags_ok = all(str(getattr(ds, k)) == (f"{v:g}" if isinstance(v, float) else str(v))
                      for k, v in e.items() if k[0].isupper())
        check(e == chex_dicom_params(spec_d) and tags_ok and np.max(np.abs(y - g)) < 1e-6,
              f"dicom/{e['file']}: {ds.PhotometricInterpretation} {ds.BitsStored}-bit slope {ds.RescaleSlope} "
              f"window {'WindowCenter' in ds}; display values == PNG (max diff {np.max(np.abs(y - g)):.1g})")
    # models
    x = np.load(os.path.join(d, "input.npy"))
    yk = np.load(os.path.join(d, "output_keras3.npy"))
    yt = np.load(os.path.join(d, "output_tfkeras.npy"))
    check(np.array_equal(x, xte[:2]), "input.npy == the first two test images, preprocessed")
    km = keras.models.load_model(os.path.join(d, "model.keras"), compile=False)
    for fn, loader, ref in (("tfkeras.h5", tf_keras.models.load_model, yt),
                            ("keras3.h5", keras.models.load_model, yk), ("model.keras", None, yk)):
        m = km if loader is None else loader(os.path.join(d, fn), compile=False)
        r = predict(m, x)
        check(np.allclose(r, ref, atol=1e-6), f"{fn} reload max err {np.max(np.abs(r - ref)):.2g}")
    diff = float(np.max(np.abs(yk - yt)))
    check(diff <= 1e-5, f"tfkeras vs keras3 outputs {diff:.2g}")
    # metrics
    met = info["metrics"]
    pk = predict(km, xte)
    for s, xs, ys in (("test", xte, yte), ("test_noisy", xno, yno)):
        t = auroc_table(ys, pk if s == "test" else predict(km, xs))
        rec = met["keras3"][s]
        check(abs(t["mean"] - rec["mean"]) <= 1e-6
              and all(abs(t["per_finding"][f] - rec["per_finding"][f]) <= 1e-6 for f in CHEX_FINDINGS),
              f"keras3 AUROC {s}: mean {t['mean']:.4f} == info.json")
    for v, fn in CHEX_TFLITE_FILES.items():
        path = os.path.join(d, fn)
        b = open(path, "rb").read()
        rec = met[f"tf_{v}"]
        if v != "float32":
            facts = tflite_facts(b)
            check(facts["optimization_modes"] == QUANT_MODES[v], f"{fn}: optimization modes {facts['optimization_modes']}")
        p = run_tflite_batch1(b, xte)
        t = auroc_table(yte, p)
        tn = auroc_table(yno, run_tflite_batch1(b, xno))
        err = float(np.max(np.abs(p - pk)))
        check(rec["bytes"] == len(b) and abs(t["mean"] - rec["test"]["mean"]) <= 1e-6
              and abs(tn["mean"] - rec["test_noisy"]["mean"]) <= 1e-6
              and abs(err - rec["max_abs_diff_vs_keras3_test"]) <= 1e-6,
              f"{fn} ({len(b)} bytes) LiteRT AUROC test {t['mean']:.4f} noisy {tn['mean']:.4f}, "
              f"max err vs keras3 {err:.2g} == info.json")
    check(met["tf_float32"]["max_abs_diff_vs_keras3_test"] <= 1e-5, "tf.tflite (LiteRT) vs keras3 on test.npy <= 1e-5")
    check(abs(met["tf_int8"]["mean_auroc_change_vs_keras3_test"]) <= 0.02, "tf_int8 mean AUROC within 0.02 of Keras")
    # pruning experiment, re-run from the saved weights
    weights = km.get_weights()
    pr = chex_pruning_experiment(weights, cal, xte, yte)
    rec = info["pruning_experiment"]["results"]
    for s, r in pr.items():
        ok = all(abs(r[k] - rec[s][k]) <= 1e-6 for k in ("mean_auroc_test", "mean_auroc_test_bn_reestimated"))
        ok = ok and r["zeros_per_layer"] == rec[s]["zeros_per_layer"] and r["bn_stats_max_rel_diff_vs_training_mode"] < 1e-4
        check(ok, f"pruning {s}: mean AUROC {r['mean_auroc_test']:.4f} -> BN re-estimated "
                  f"{r['mean_auroc_test_bn_reestimated']:.4f} == info.json")


MODELS = [
    dict(name="mini_densenet", build=build_mini_densenet, input_shape=(32, 32, 3), quant=QUANT,
         note="keras.applications.DenseNet shape shrunk: ZeroPadding2D+Conv7x7/2(no bias)+BN+ReLU, "
              "ZeroPadding2D+MaxPool, 2 dense blocks x 2 conv blocks (growth 4, stem 8 filters), transition pool2, "
              "final BN+ReLU, GAP, Dense(3, softmax). Layer names use the Keras 3 spelling "
              "(conv1_conv) in BOTH files; see chexnet_* for the tf_keras 'conv1/conv' spelling."),
    dict(name="mini_inception", build=build_mini_inception, input_shape=(32, 32, 3), quant=QUANT,
         note="InceptionV3 style conv2d_bn (Conv no bias + BN(scale=False) + ReLU) with Keras auto-style "
              "names (conv2d_3, batch_normalization_3, activation_3): stem conv2d_bn 3x3/2 valid + "
              "MaxPooling2D 3/2, then a mixed0-like block with 1x1, 1x1->5x5, "
              "1x1->3x3->3x3 and AveragePooling2D(3, strides 1, same)->1x1 branches."),
    dict(name="mini_mobilenetv2", build=build_mini_mobilenetv2, input_shape=(32, 32, 3), quant=QUANT,
         note="MobileNetV2 style: Conv1 s2 same + BN(eps 1e-3) + ReLU(6.), block_1 (expand 1x1 + BN + "
              "ReLU(6.), stride 2 with correct_pad ZeroPadding2D(((0,1),(0,1))) + DepthwiseConv2D valid + BN + "
              "ReLU(6.), project 1x1 + BN), block_2 (same, stride 1, DepthwiseConv2D same, Add residual "
              "'block_2_add'), GAP, Dense(2, softmax). (The expanded_conv and Conv_1 stages of the real "
              "model are left out to keep the fixture small.)"),
    dict(name="chexnet_nested", build=build_chexnet, input_shape=(32, 32, 3), compile="compile",
         quant=QUANT + ("int8_io",),
         note="CheXNet shape: Sequential([functional 'densenet_mini' (= mini_densenet with include_top=False), "
              "GlobalAveragePooling2D, Dense(14, sigmoid)]). Inner layer names follow each framework's "
              "keras.applications spelling: tfkeras.h5 has 'conv1/conv' (a '/' in a layer name => nested "
              "HDF5 groups and weight names 'conv1/conv/kernel:0'), keras3.h5/model.keras have 'conv1_conv'. "
              "Compiled (Adam, binary_crossentropy) but never trained, so the files carry training_config "
              "and a near-empty optimizer_weights group (tf_keras: 'iteration:0'; Keras 3: 'adam/iteration', "
              "'adam/learning_rate') like a real checkpoint. Bundled sample model for the README quick start."),
    dict(name="chexnet_frozen", build=functools.partial(build_chexnet, frozen=True, blocks=(1,)),
         input_shape=(32, 32, 3),
         variants=[dict(suffix="bn_frozen", compile="train",
                        build=functools.partial(build_chexnet, bn_frozen=True, blocks=(1,)))],
         note="chexnet_nested shape with a smaller inner DenseNet (one dense block of one conv block, no "
              "transition). tfkeras.h5/keras3.h5/model.keras: the inner functional model has trainable=False "
              "before saving, which changes the order of the weights stored for it (per layer, "
              "instead of all trainable weights first then all moving statistics). Variant files "
              "tfkeras_bn_frozen.h5 / keras3_bn_frozen.h5 / model_bn_frozen.keras: same architecture and "
              "weights (so the SAME input.npy/output_*.npy/tf.tflite apply), inner trainable but inner "
              "BatchNormalization 'conv2_block1_1_bn' trainable=False (its gamma/beta move to the "
              "non-trainable section), compiled with Adam and trained one step (weights then reset) so "
              "these files also carry optimizer weights (HDF5 'optimizer_weights' group / .keras "
              "'optimizer' vars)."),
    dict(name="layers_conv", build=build_layers_conv, input_shape=(16, 16, 3), quant=QUANT,
         note="Conv2D strides 2 same with activation='relu' inside, dilation 2 valid/same, with and without "
              "bias, non-square kernel+strides; DepthwiseConv2D depth_multiplier 2 (and stride 2 valid); "
              "SeparableConv2D; BatchNormalization default / scale=False / center=False; Dense on a 4D "
              "tensor and after Flatten; Concatenate of flat vectors."),
    dict(name="layers_activation", build=build_layers_activation, input_shape=(6, 6, 4), data_scale=2.5,
         note="Each output channel group (4 channels) is one activation applied to the same 1x1 conv output, "
              "in this order: Activation(" + ", ".join(ACTIVATIONS) + "), ReLU(), ReLU(max_value=2.5), "
              "ReLU(negative_slope=0.1), ReLU(threshold=0.5), ReLU(max_value=6), LeakyReLU(0.2), "
              "PReLU(shared_axes=[1,2]), PReLU(), Softmax(axis=-1). Framework differences: hard_sigmoid is "
              "max(0,min(1,0.2x+0.5)) in tf_keras but relu6(x+3)/6 = clip(x/6+0.5) in Keras 3, so "
              "output_tfkeras.npy and output_keras3.npy DIFFER in channels 28..31 (group 7) only. "
              "LeakyReLU is built with alpha= in tf_keras and negative_slope= in Keras 3. tf_keras "
              "serialises 'silu' as 'swish'; Keras 3 serialises 'swish' as 'silu'. Input is normal*2.5 "
              "so clipping ranges are exercised."),
    dict(name="layers_shape", build=build_layers_shape, input_shape=(12, 12, 3),
         note="Rescaling(scale 0.5, offset 0.25), ZeroPadding2D((1,2),(0,1)), Cropping2D((1,0),(2,1)), "
              "Dropout/SpatialDropout2D/GaussianNoise/GaussianDropout/ActivityRegularization (inference "
              "no-ops), MaxPooling2D same(3,s2)/valid(2,s1), AveragePooling2D same(3,s2)/valid((2,3),s(2,1)), "
              "UpSampling2D nearest(2) and bilinear((2,3)), GlobalAverage/MaxPooling2D with and without "
              "keepdims, Permute (3,1,2) and (2,1,3), Reshape((35,6)) and Reshape((-1,)), Flatten, "
              "Concatenate of the flattened results."),
    dict(name="layers_merge", build=build_layers_merge, input_shape=(8, 8, 4),
         note="Add/Multiply/Maximum with 3 inputs, Subtract, Average, Minimum with 2, Concatenate on axis "
              "-1, 1 and 2, Flatten, Conv2D 1x1 and 3x3 same."),
    # TF's int8 file keeps LayerNormalization's NEG (mean negated) in float: 2 float tensors each.
    dict(name="layers_sequence", build=build_layers_sequence, input_shape=(16, 16, 3), quant=QUANT, tf_int8_float_tensors=4,
         note="Transformer encoder layers without attention: Conv2D 4x4/4 patches, Reshape to 16 tokens, "
              "LayerNormalization (epsilon 1e-6; center=False), Dense on rank-3 tokens with GELU, residual Add, "
              "GlobalAveragePooling1D, Dense(3, softmax)."),
    # TF's int8 file keeps each LayerNormalization's NEG in float (2 tensors each, 5 norms).
    dict(name="mini_vit", build=build_mini_vit, input_shape=(16, 16, 3), quant=QUANT, tf_int8_float_tensors=10,
         note="Small vision transformer: Conv2D 4x4/4 patches reshaped to 16 tokens, two pre-norm encoder blocks "
              "(LayerNormalization, MultiHeadAttention self-attention 2 heads x 8; then 4 heads x 4 with value_dim 6, "
              "no bias, output_shape 16 and a separate key tensor; GELU MLP; residual Adds), final LayerNormalization, "
              "GlobalAveragePooling1D, Dense(3, softmax)."),
    # TF's int8 file keeps 10 tensors of the group statistics in float (NEG and its neighbours).
    dict(name="layers_group_norm", build=build_layers_group_norm, input_shape=(8, 8, 3), quant=QUANT,
         tf_int8_float_tensors=10,
         note="GroupNormalization: 2 groups of 4 channels on 8x8x8 feature maps; 8 groups of 1 (instance norm) "
              "without center, epsilon 1e-5; 4 groups without scale on 64 rank-3 tokens; GAP1D, softmax."),
    dict(name="mini_convnext", build=build_mini_convnext, input_shape=(32, 32, 3), data_scale=64.0, quant=QUANT,
         tf_int8_float_tensors=2 * 5,
         note="keras.applications ConvNeXt shrunk: Normalization with ImageNet mean/variance, Conv2D 4x4/4 stem + "
              "LayerNormalization, two stages of one block (Conv2D 7x7 with groups = channels, LayerNormalization, "
              "Dense 4C on rank-4 features, GELU, Dense C, keras.applications' LayerScale, residual Add) joined by "
              "LayerNormalization + Conv2D 2x2/2, GlobalAveragePooling2D, LayerNormalization, Dense(3, softmax)."),
    dict(name="chexnet_trained", input_shape=(64, 64, 3),
         generate=generate_chexnet_trained, check=check_chexnet_trained,
         note="TRAINED CheXNet shape on synthetic data: Sequential([functional 'densenet_tiny' (keras.applications "
              "DenseNet blocks, include_top=False: stem 7x7/2 conv with 32 filters, 3 dense blocks of 3 conv blocks, "
              "growth 16, transitions with compression 0.5), GlobalAveragePooling2D, Dense(14, sigmoid)]) on 64x64x3 "
              "(gray replicated; 'torch' preprocessing outside the model). Trained 20 epochs on 2000 synthetic "
              "radiographs with 14 ChestX-ray14 findings (golden/data/chexnet). info.json holds per-finding AUROC "
              "for Keras and TensorFlow's float32/float16/dynamic/int8 files in LiteRT on test and test_noisy, and "
              "a pruning + BatchNorm re-estimation experiment."),
    dict(name="mini_mobilenetv3", build=build_mini_mobilenetv3, input_shape=(32, 32, 3), quant=QUANT,
         data_scale=64.0, keras3_h5_unloadable="Only input tensors may be passed as positional arguments",
         note="keras.applications.MobileNetV3 shape shrunk: Rescaling(1/127.5, -1), stem conv s2 + BN + hard_swish, "
              "3 inverted residual blocks (expand 1x1, ZeroPadding2D + DepthwiseConv2D s2 valid / s1 same, "
              "squeeze-excite: GAP keepdims -> 1x1 conv -> ReLU -> 1x1 conv -> hard_sigmoid -> Multiply, project, "
              "Add residual), conv_1 + hard_swish, GAP, conv_2 + hard_swish, Dropout, logits conv, Flatten, softmax. "
              "hard_sigmoid is written as keras.applications writes it, ReLU(6.)(x + 3.) * (1/6): Keras 3 stores "
              "'x + 3.' and '* (1/6)' as operation nodes (module keras.src.ops.numpy, class Add/Multiply, the "
              "constant in inbound_nodes args), tf_keras as TFOpLambda layers (function __operators__.add / "
              "math.multiply, the constant in the node's kwargs 'y'). hard_swish = Multiply([x, hard_sigmoid(x)]). "
              "Keras 3.15 writes keras3.h5 but its legacy HDF5 loader cannot load it back (an operation node "
              "with a constant argument); model.keras loads."),
    dict(name="mini_efficientnet", build=build_mini_efficientnet, input_shape=(32, 32, 3), quant=QUANT,
         data_scale=64.0,
         note="keras.applications.EfficientNet shape shrunk: Rescaling(1/255), Normalization(axis=-1) whose mean, "
              "variance and count are stored weights (set by fill_weights), per-channel Rescaling(1/sqrt(stddev)) "
              "(as EfficientNet adds with imagenet weights), stem ZeroPadding2D + conv s2 + BN + swish, MBConv "
              "blocks block1a (no expansion), block2a (expand 3, stride 2 with correct_pad), block2b (stride 1, "
              "Dropout(noise_shape) + Add), each with squeeze-excite (GAP, Reshape, 1x1 conv swish, 1x1 conv "
              "sigmoid, Multiply), top conv + BN + swish, GAP, Dropout, Dense(3, softmax). Input normal*64."),
    dict(name="layers_preprocessing", build=build_layers_preprocessing, input_shape=(20, 24, 3), data_scale=0.5,
         note="Normalization with mean/variance in the config, with invert=True, and with stored weights "
              "(axis -1); Resizing bilinear 20x24->16x18 and 11x14->17x25, Resizing nearest 16x18->11x14 "
              "(non-integer factors, half-pixel centres as tf.image.resize), CenterCrop(11, 14) of 16x18 "
              "(offsets 2 and 2), Rescaling with per-channel scale and offset; Concatenate. Input normal*0.5: "
              "LiteRT's bilinear resize differs from TensorFlow's by up to ~7e-6 relative here (TF's own "
              "tf.tflite as much as ours), so values are kept small."),
    dict(name="layers_operations", build=build_layers_operations, input_shape=(6, 6, 4), data_scale=2.0,
         keras3_h5_unloadable="Unknown layer: 'TrueDivide'",
         note="Operation nodes: Keras 3 keras.ops / Python operators (Add, Subtract, Multiply, TrueDivide with "
              "the constant on either side, Negative, Maximum, Minimum, Relu, Relu6, Sigmoid, Tanh, Silu, "
              "HardSilu, HardSigmoid, Concatenate, GetItem with slices, steps and an ellipsis + index, Mean, "
              "Reshape, Softmax); tf_keras the same computation as TFOpLambda (__operators__.add, math.subtract, "
              "math.multiply, math.truediv, math.negative, math.maximum, math.minimum, nn.relu, nn.relu6, "
              "math.sigmoid, math.tanh, nn.silu, concat, math.reduce_mean, reshape, nn.softmax) and "
              "SlicingOpLambda (__operators__.getitem). Keras 3.15 writes keras3.h5 but its legacy HDF5 loader "
              "cannot load it back (it does not know the TrueDivide operation); model.keras loads."),
    # keep last: tf_keras only, own generate/check (needs tensorflow-model-optimization)
    dict(name="pruned_tfmot", input_shape=(16, 16, 3),
         generate=generate_pruned_tfmot, check=check_pruned_tfmot,
         note="TensorFlow Model Optimization Toolkit pruning, saved WITHOUT strip_pruning (tf_keras only). "
              "Functional Conv2D(8,3,same) -> BatchNormalization -> ReLU -> DepthwiseConv2D(3,same) -> "
              "Conv2D(8,1) -> GlobalAveragePooling2D -> Dense(4, softmax); conv1, dwconv, conv_pw and dense "
              "are wrapped in PruneLowMagnitude (model_config class_name 'PruneLowMagnitude', name "
              "'prune_low_magnitude_<inner>', inner layer config under config.layer). Each wrapper's HDF5 "
              "group lists inner kernel, inner bias, then <wrapper>/mask:0 (float32, kernel shape), "
              "<wrapper>/threshold:0 (float32 scalar), <wrapper>/pruning_step:0 (int64 scalar). tfmot's "
              "registry has NO prunable weight for DepthwiseConv2D, so prune_low_magnitude_dwconv has no "
              "mask/threshold (only depthwise_kernel, bias, pruning_step) and its kernel stays dense. The "
              "saved Conv2D/Dense kernels are already kernel*mask (exactly 50% zeros). Trained 3 epochs "
              "with Adam, so the file also has training_config and optimizer_weights (iteration + Adam m/v "
              "for the inner trainable weights only, no mask). tf.tflite is converted from "
              "strip_pruning(model)."),
    dict(name="layers_transpose", build=build_layers_transpose, input_shape=(8, 8, 3), quant=QUANT,
         note="Conv2DTranspose: strides 2 same + activation relu (16x16), (2,3) kernel strides (1,2) valid no "
              "bias (9x17), strides 2 same output_padding=0 (15x15), kernel 4 strides 3 valid output_padding=2 "
              "(27x27), strides 2 same no bias -> BatchNormalization -> ReLU (16x16); each flattened, "
              "concatenated."),
    dict(name="unet", build=build_unet, input_shape=(32, 32, 1), quant=QUANT,
         note="Lung-segmentation U-Net shape: enc1 (Conv3x3 no bias + BN + ReLU, 8) -> MaxPool -> enc2 (16) -> "
              "MaxPool -> bottleneck (32) -> up2 Conv2DTranspose(16, 2, s2, same, bias) -> Concatenate with enc2 -> "
              "dec2 (16) -> up1 Conv2DTranspose(8, 3, s2, same, no bias) + BN + ReLU -> Concatenate with enc1 -> "
              "dec1 (8) -> Conv2D(1, 1, sigmoid) per-pixel mask 32x32x1."),
    dict(name="layers_conv3d", build=build_layers_conv3d, input_shape=(6, 8, 7, 2), quant=QUANT, tf_int8_float_tensors=12,
         note="Volume layers TensorFlow converts: Conv3D(4, 3, same, relu), Conv3D(3, (3,2,1), strides (2,1,2), "
              "valid, no bias), Conv3D(5, 1) on the first, ZeroPadding3D(((1,0),(0,2),(1,1))) -> Conv3D no bias -> "
              "BN -> ReLU -> SpatialDropout3D -> Cropping3D(((1,0),(2,1),(0,1))), GlobalMaxPooling3D, "
              "GlobalAveragePooling3D(keepdims); flattened, concatenated. TF writes CONV_3D without a bias "
              "operand (a separate ADD) and keeps CONV_3D float32 in its int8 file."),
    dict(name="layers_prelu", build=build_layers_prelu, input_shape=(8, 8, 3), quant=QUANT,
         note="PReLU in int8: Conv2D(8, 3, same) -> PReLU(shared_axes=[1,2]) (alpha 1x1x8) -> Conv2D(8, 3, "
              "strides 2, same) -> PReLU() (alpha 4x4x8) -> GlobalAveragePooling2D -> Dense(4)."),
    dict(name="layers_pool3d", build=build_layers_pool3d, input_shape=(7, 9, 11, 2), calibration=True,
         tf_refuses=("MaxPool3D", "AvgPool3D"),
         note="MaxPooling3D and AveragePooling3D on odd sizes (7x9x11x2): max 2 valid; max (3,2,3) strides "
              "(2,3,1) same; average (2,3,2) strides (1,2,3) same; average 3 strides 2 valid; average 3 strides "
              "1 same; UpSampling3D (2,1,3) of the first, (1,2,1) of the fourth; flattened, concatenated. "
              "TensorFlow's converter refuses MaxPool3D/AvgPool3D without Flex ops: no tf*.tflite files."),
    dict(name="mini_ct3d", build=build_mini_ct3d, input_shape=(8, 16, 16, 1), calibration=True,
         tf_refuses=("MaxPool3D", "AvgPool3D", "BatchToSpaceND"),
         note="A small CT-volume 3D CNN: Conv3D(8, 3, same, no bias) + BN + ReLU, MaxPooling3D(2), Conv3D(16, 3, "
              "strides (1,2,2), same) + BN + ReLU, AveragePooling3D((2,3,3), strides 1, same), Conv3D(16, 3, "
              "dilation (1,2,2), same, relu), GlobalAveragePooling3D, Dense(1, sigmoid). TensorFlow's converter "
              "refuses it (MaxPool3D, AvgPool3D and the dilated Conv3D's rank-5 SpaceToBatchND/BatchToSpaceND "
              "need Flex ops): no tf*.tflite files."),
    dict(name="multi_io", build=build_multi_io, generate=generate_multi_io, check=check_multi_io,
         note="Two inputs (image 32x32x1, clinical 4) and three outputs in Keras order: findings (Dense 14 "
              "sigmoid), box (Dense 4 linear), heatmap (Conv2D 1x1 sigmoid, 8x8x1). Files per input/output "
              "name: input_<input>.npy, calibration_<input>.npy, output_{keras3,tfkeras}_<output>.npy, "
              "litert_{float32,int8}_<output>.npy (TF's tf.tflite / tf_int8.tflite run through the "
              "serving_default signature)."),
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def make_input(shape, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    return (rng.normal(0.0, 1.0, (2,) + tuple(shape)) * scale).astype(np.float32)


def save_model_files(d, km, tm, x):
    """The files every golden model has: its input, both frameworks' outputs on it, and the
    model as tf.keras 2 .h5, Keras 3 .h5 and .keras. Returns (Keras 3, tf_keras) outputs."""
    yk, yt = predict(km, x), predict(tm, x)
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output_keras3.npy"), yk)
    np.save(os.path.join(d, "output_tfkeras.npy"), yt)
    tm.save(os.path.join(d, "tfkeras.h5"))
    save_keras3_h5(km, os.path.join(d, "keras3.h5"))
    km.save(os.path.join(d, "model.keras"))
    return yk, yt


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0), dtype=np.float32)


def quantize_int8(x, scale, zero_point):
    """float -> int8 as TFLite's QUANTIZE: round(x / scale) + zero_point, clamped."""
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def run_tflite(path_or_bytes, x, raw=False):
    """LiteRT on x, batch 1 per sample.  An int8 model input is fed
    quantize_int8(x) with the input tensor's scale/zero point; an int8 output is
    returned as int8 if raw, else dequantized to float32."""
    kw = {"model_content": path_or_bytes} if isinstance(path_or_bytes, bytes) else {"model_path": path_or_bytes}
    outs = []
    for i in range(x.shape[0]):  # batch 1 per sample, as the converter emits [1,...]
        it = Interpreter(**kw)
        it.allocate_tensors()
        inp = it.get_input_details()[0]
        xi = x[i:i + 1]
        if inp["dtype"] == np.int8:
            xi = quantize_int8(xi, *inp["quantization"])
        it.set_tensor(inp["index"], xi)
        it.invoke()
        out = it.get_output_details()[0]
        y = it.get_tensor(out["index"])
        if out["dtype"] == np.int8 and not raw:
            scale, zero_point = out["quantization"]
            y = (y.astype(np.float32) - zero_point) * np.float32(scale)
        outs.append(y)
    y = np.concatenate(outs, 0)
    return y if y.dtype == np.int8 else y.astype(np.float32)


def convert_tflite(model):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    return conv.convert()


# TensorFlow post-training quantization references (models with a "quant" entry)
QUANT_VARIANTS = {
    "float16": "optimizations=[tf.lite.Optimize.DEFAULT], target_spec.supported_types=[tf.float16]",
    "dynamic": "optimizations=[tf.lite.Optimize.DEFAULT] (no representative_dataset: dynamic range)",
    "int8": ("optimizations=[tf.lite.Optimize.DEFAULT], representative_dataset=calibration.npy one sample "
             "[1,H,W,C] per step (32 steps), target_spec.supported_ops=[TFLITE_BUILTINS_INT8]; "
             "inference_input_type/output_type left at float32"),
    "int8_io": "as int8, plus inference_input_type=tf.int8, inference_output_type=tf.int8",
}
# ConversionMetadata.options.modelOptimizationModes TF records for each variant
QUANT_MODES = {"float16": [1001], "dynamic": [1002], "int8": [1003], "int8_io": [1003]}


def make_calibration(shape, scale=1.0):
    rng = np.random.RandomState(CALIB_SEED)
    return (rng.normal(0.0, 1.0, (CALIB_SAMPLES,) + tuple(shape)) * scale).astype(np.float32)


def convert_quantized(model, variant, calibration):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        conv.target_spec.supported_types = [tf.float16]
    elif variant in ("int8", "int8_io"):
        def representative_dataset():
            for i in range(calibration.shape[0]):
                yield [calibration[i:i + 1]]
        conv.representative_dataset = representative_dataset
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if variant == "int8_io":
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    else:
        assert variant == "dynamic", variant
    return conv.convert()


def tflite_facts(path_or_bytes):
    """A few facts read from the flatbuffer (TensorFlow's generated schema
    readers): tensor type counts, (op, version) pairs, optimization modes."""
    from tensorflow.lite.python import conversion_metadata_schema_py_generated as cmfb
    from tensorflow.lite.python import schema_py_generated as fb
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    type_names = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    sg = m.subgraphs[0]
    types = {}
    for t in sg.tensors:
        n = type_names[t.type]
        types[n] = types.get(n, 0) + 1
    ops = sorted({(op_names[c.builtinCode], int(c.version)) for c in m.operatorCodes})
    meta = {}
    for md in m.metadata or []:
        data = m.buffers[md.buffer].data
        meta[md.name.decode() if isinstance(md.name, bytes) else md.name] = \
            b"" if data is None else np.asarray(data, np.uint8).tobytes()
    modes = []
    if "CONVERSION_METADATA" in meta:
        cm = cmfb.ConversionMetadataT.InitFromPackedBuf(bytearray(meta["CONVERSION_METADATA"]), 0)
        if cm.options is not None and cm.options.modelOptimizationModes is not None:
            modes = [int(v) for v in cm.options.modelOptimizationModes]
    return {
        "tensor_types": dict(sorted(types.items())),
        "ops": [f"{n}/v{v}" for n, v in ops],
        "input_type": type_names[sg.tensors[sg.inputs[0]].type],
        "output_type": type_names[sg.tensors[sg.outputs[0]].type],
        "min_runtime_version": meta.get("min_runtime_version", b"").rstrip(b"\0").decode(),
        "optimization_modes": modes,
    }


def output_step(path):
    """Quantization step of the int8 tensor an int8 model's float32 output is
    dequantized from (or of the int8 output itself)."""
    from tensorflow.lite.python import schema_py_generated as fb
    m = fb.ModelT.InitFromPackedBuf(bytearray(open(path, "rb").read()), 0)
    sg = m.subgraphs[0]
    out = sg.outputs[0]
    t = sg.tensors[out]
    if t.type == fb.TensorType.FLOAT32:
        t = sg.tensors[next(op.inputs[0] for op in sg.operators if out in list(op.outputs))]
    return float(t.quantization.scale[0]) if t.quantization is not None and t.quantization.scale is not None else 0.0


# self-check bounds: max |LiteRT - Keras| / max(1, max |Keras output|)
QUANT_ERROR_BOUND = {"float16": 5e-3, "dynamic": 5e-2, "int8": 1e-1, "int8_io": 1e-1}
# TF's dynamic-range quantization leaves weights with fewer elements than this in float32
DYNAMIC_MIN_ELEMENTS = 1024


def large_float_constants(path, min_elements=DYNAMIC_MIN_ELEMENTS):
    """Number of float32 constant tensors with at least min_elements elements."""
    from tensorflow.lite.python import schema_py_generated as fb
    m = fb.ModelT.InitFromPackedBuf(bytearray(open(path, "rb").read()), 0)
    return sum(1 for t in m.subgraphs[0].tensors
               if t.type == fb.TensorType.FLOAT32 and m.buffers[t.buffer].data is not None
               and int(np.prod(t.shape)) >= min_elements)


def check_quantized(spec, d, x, yk, check):
    with open(os.path.join(d, "info.json")) as f:
        info = json.load(f)
    cal = np.load(os.path.join(d, "calibration.npy"))
    check(cal.dtype == np.float32 and cal.shape == (CALIB_SAMPLES,) + tuple(spec["input_shape"])
          and np.array_equal(cal, make_calibration(spec["input_shape"], spec.get("data_scale", 1.0))),
          f"calibration.npy {cal.shape} {cal.dtype} == RandomState({CALIB_SEED}) samples")
    q = info.get("quantized", {})
    for v in spec["quant"]:
        path = os.path.join(d, f"tf_{v}.tflite")
        facts = tflite_facts(path)
        rec = q.get(v, {})
        check(all(rec.get(k) == facts[k] for k in facts) and rec.get("bytes") == os.path.getsize(path),
              f"tf_{v}.tflite matches info.json (ops {len(facts['ops'])}, types {facts['tensor_types']})")
        check(facts["optimization_modes"] == QUANT_MODES[v],
              f"tf_{v}.tflite CONVERSION_METADATA optimization modes {facts['optimization_modes']}")
        types = facts["tensor_types"]
        io = (facts["input_type"], facts["output_type"])
        if v == "float16":
            ok = types.get("FLOAT16", 0) > 0 and "INT8" not in types and io == ("FLOAT32", "FLOAT32")
        elif v == "dynamic":  # exactly the float32 weights with >= 1024 elements become int8
            big = large_float_constants(os.path.join(d, "tf.tflite"))
            ok = types.get("INT8", 0) == big and "FLOAT16" not in types and io == ("FLOAT32", "FLOAT32")
        elif v == "int8":  # float32 only at the edges (QUANTIZE in, DEQUANTIZE out), and where TF leaves it
            ok = types.get("FLOAT32") == 2 + spec.get("tf_int8_float_tensors", 0) and io == ("FLOAT32", "FLOAT32")
        else:  # int8_io: no float32 tensor at all
            ok = "FLOAT32" not in types and io == ("INT8", "INT8")
        check(ok, f"tf_{v}.tflite tensor types {types}, input/output {io[0]}/{io[1]}")
        ref = np.load(os.path.join(d, f"litert_{v}.npy"))
        raw = run_tflite(path, x, raw=True)
        if v == "int8_io":
            err = int(np.max(np.abs(raw.astype(np.int32) - ref.astype(np.int32))))
            check(ref.dtype == np.int8 and raw.shape == ref.shape and err <= 1,
                  f"litert_{v}.npy int8 reproduced by LiteRT (max diff {err} steps)")
        else:
            tol = 1e-5 + (output_step(path) if v == "int8" else 0.0)
            err = float(np.max(np.abs(raw - ref)))
            check(ref.dtype == np.float32 and raw.shape == ref.shape and err <= tol,
                  f"litert_{v}.npy reproduced by LiteRT (max diff {err:.2g}, tol {tol:.2g})")
        e = float(np.max(np.abs(run_tflite(path, x) - yk)))
        key = f"max_abs_diff_tf_{v}_vs_keras3"
        bound = QUANT_ERROR_BOUND[v] * max(1.0, float(np.max(np.abs(yk))))
        check(abs(e - info.get(key, -1.0)) <= 1e-5 + (output_step(path) if v.startswith("int8") else 0.0)
              and e <= bound, f"tf_{v}.tflite (LiteRT) vs keras3 max err {e:.3g} (info {info.get(key)}, bound {bound:.3g})")


def io_quantization(path_or_bytes):
    kw = {"model_content": path_or_bytes} if isinstance(path_or_bytes, bytes) else {"model_path": path_or_bytes}
    it = Interpreter(**kw)
    q = lambda d: {"dtype": np.dtype(d["dtype"]).name, "scale": float(d["quantization"][0]),  # noqa: E731
                   "zero_point": int(d["quantization"][1])}
    return {"input": q(it.get_input_details()[0]), "output": q(it.get_output_details()[0])}


def write_quantized(spec, km, x, yk, d):
    """calibration.npy, tf_<variant>.tflite, litert_<variant>.npy; returns the
    info.json entries."""
    cal = make_calibration(spec["input_shape"], spec.get("data_scale", 1.0))
    np.save(os.path.join(d, "calibration.npy"), cal)
    errs = {}
    details = {
        "calibration": (f"calibration.npy: float32 {list(cal.shape)}, RandomState({CALIB_SEED}).normal(0,1)"
                        f"*{spec.get('data_scale', 1.0)}; the representative_dataset yields "
                        f"[calibration[i:i+1]] for i in 0..{CALIB_SAMPLES - 1}"),
        "converter": ("tf.lite.TFLiteConverter.from_keras_model(<Keras 3 model>) (the same model as tf.tflite) "
                      "with each variant's 'options'"),
        "litert_outputs": ("litert_<variant>.npy = LiteRT (ai_edge_litert, default op resolver) on input.npy, "
                           "batch 1 per sample; float32, except litert_int8_io.npy which holds the raw int8 "
                           "output (its input was quantize_int8(input.npy) with the input scale/zero point)"),
    }
    for v in spec["quant"]:
        b = convert_quantized(km, v, cal)
        fn = f"tf_{v}.tflite"
        with open(os.path.join(d, fn), "wb") as f:
            f.write(b)
        raw = run_tflite(b, x, raw=True)
        np.save(os.path.join(d, f"litert_{v}.npy"), raw)
        y = run_tflite(b, x)
        errs[f"max_abs_diff_tf_{v}_vs_keras3"] = float(np.max(np.abs(y - yk)))
        entry = {"file": fn, "options": QUANT_VARIANTS[v], "bytes": len(b),
                 "litert_output": f"litert_{v}.npy", **tflite_facts(b)}
        if v == "int8_io":
            entry["io_quantization"] = io_quantization(b)
        details[v] = entry
    return errs, details


def maybe_compile_and_step(K, model, x, mode):
    """mode "compile": training_config only; "train": also one step of Adam
    (optimizer state in the files), then the weights are reset."""
    if not mode:
        return
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                  loss="binary_crossentropy")
    if mode == "train":
        y = np.random.RandomState(7).randint(0, 2, (x.shape[0], 14)).astype(np.float32)
        model.train_on_batch(x, y)
        fill_weights(model)


def build_pair(build, x, compile_mode):
    # fresh name counters => auto names (e.g. Sequential's InputLayer) do not
    # depend on what was built before in this process
    keras.backend.clear_session()
    tf_keras.backend.clear_session()
    km = build(keras)
    fill_weights(km)
    tm = build(tf_keras)
    fill_weights(tm)
    maybe_compile_and_step(keras, km, x, compile_mode)
    maybe_compile_and_step(tf_keras, tm, x, compile_mode)
    wk, wt = weights_by_key(km), weights_by_key(tm)
    assert wk.keys() == wt.keys(), (set(wk) ^ set(wt))
    for k in wk:
        assert np.array_equal(wk[k], wt[k]), k
    return km, tm


def save_keras3_h5(model, path):
    model.save(path)  # Keras 3 picks the legacy HDF5 writer for *.h5


def generate_model(spec, out_root):
    if "generate" in spec:  # single-framework model with its own writer (pruned_tfmot)
        return spec["generate"](spec, out_root)
    name = spec["name"]
    d = os.path.join(out_root, "models", name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    x = make_input(spec["input_shape"], SEED, spec.get("data_scale", 1.0))

    km, tm = build_pair(spec["build"], x, spec.get("compile"))
    yk, yt = save_model_files(d, km, tm, x)
    for v in spec.get("variants", []):
        vk, vt = build_pair(v["build"], x, v.get("compile"))
        assert np.allclose(predict(vk, x), yk, atol=1e-6) and np.allclose(predict(vt, x), yt, atol=1e-6)
        vt.save(os.path.join(d, f"tfkeras_{v['suffix']}.h5"))
        save_keras3_h5(vk, os.path.join(d, f"keras3_{v['suffix']}.h5"))
        vk.save(os.path.join(d, f"model_{v['suffix']}.keras"))
    tfl = None if spec.get("tf_refuses") else convert_tflite(km)
    if tfl is not None:
        with open(os.path.join(d, "tf.tflite"), "wb") as f:
            f.write(tfl)

    info = {
        "name": name,
        "input_shape": list(spec["input_shape"]),
        "input_npy_shape": list(x.shape),
        "output_shape": list(yk.shape),
        "layers": sorted(class_names(km) | class_names(tm)),
        "note": spec["note"],
        "input_data": f"RandomState({SEED}).normal(0,1)*{spec.get('data_scale', 1.0)}",
        "weights": f"fill_weights(seed={SEED}) keyed by (layer name with '/'->'_', weight kind)",
        "max_abs_diff_tfkeras_vs_keras3": float(np.max(np.abs(yk - yt))),
    }
    if tfl is not None:
        info["max_abs_diff_tflite_vs_keras3"] = float(np.max(np.abs(run_tflite(tfl, x) - yk)))
    else:
        info["tf_refusal"] = tensorflow_refusal(km, spec["tf_refuses"])
    if spec.get("calibration"):  # for h5tolite's int8 tests, where TensorFlow makes no quantized files
        np.save(os.path.join(d, "calibration.npy"), make_calibration(spec["input_shape"], spec.get("data_scale", 1.0)))
    if spec.get("quant"):
        errs, details = write_quantized(spec, km, x, yk, d)
        info.update(errs)
        info["quantized"] = details
    info["versions"] = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                        "keras": keras.__version__, "h5py": h5py.__version__, "numpy": np.__version__}
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    q = "".join(f", {k[len('max_abs_diff_'):-len('_vs_keras3')]} {v:.3g}" for k, v in info.items()
                if k.startswith("max_abs_diff_tf_"))
    tflite = (f"tflite-vs-keras3 {info['max_abs_diff_tflite_vs_keras3']:.3g}" if tfl is not None
              else f"TensorFlow refuses: {info['tf_refusal']}")
    print(f"[gen] {name}: out {yk.shape}, tfkeras-vs-keras3 {info['max_abs_diff_tfkeras_vs_keras3']:.3g}, "
          f"{tflite}{q}", flush=True)


def tensorflow_refusal(model, ops):
    """TensorFlow's converter on a model it cannot convert with builtin ops: the error must name
    every op in `ops` (TF Select ops it would need); returns the line that names them."""
    try:
        convert_tflite(model)
    except Exception as e:  # the converter raises its own ConverterError
        line = next((l.strip() for l in str(e).splitlines() if l.strip().startswith("TF Select ops:")), "")
        assert all(op in line for op in ops), f"expected a refusal naming {ops}, got: {str(e)[-400:]}"
        return line
    raise AssertionError(f"TensorFlow's converter was expected to refuse {model.name} ({', '.join(ops)})")


# --------------------------------------------------------------------------
# bad fixtures
# --------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="h5tolite")
class MyCustomScale(keras.layers.Layer):
    """Multiplies by a learned per-channel scale. Unknown to h5tolite on purpose."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                     initializer="ones")

    def call(self, x):
        return x * self.scale


def build_tiny(K, name="tiny", extra=None):
    L = K.layers
    inp = K.Input(shape=(8, 8, 3), name="input")
    x = L.Conv2D(4, 3, padding="same", name="conv")(inp)
    if extra is not None:
        x = extra(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(2, activation="softmax", name="dense")(x)
    return K.Model(inp, x, name=name)


def save_masked_attention(d):
    """Self-attention with an attention mask passed as a tensor: h5tolite refuses the mask by
    name rather than converting the attention without it."""
    tokens = keras.Input(shape=(4, 8), name="tokens")
    mask = keras.Input(shape=(4, 4), name="mask")
    y = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")(tokens, tokens, attention_mask=mask)
    m = keras.Model([tokens, mask], y, name="masked_attention")
    fill_weights(m)
    m.save(os.path.join(d, "masked_attention.keras"))


def generate_bad(out_root):
    keras.backend.clear_session()
    tf_keras.backend.clear_session()
    d = os.path.join(out_root, "bad")
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for K, fn in ((tf_keras, "lambda_tfkeras.h5"), (keras, "lambda_keras3.h5"), (keras, "lambda.keras")):
        m = build_tiny(K, "lambda_model",
                       extra=lambda t, K=K: K.layers.Lambda(lambda v: v * 2.0 + 1.0, name="lambda")(t))
        fill_weights(m)
        m.save(os.path.join(d, fn))
    save_masked_attention(d)
    for fn in ("custom_layer_keras3.h5", "custom_layer.keras"):
        m = build_tiny(keras, "custom_model", extra=lambda t: MyCustomScale(name="my_custom_scale")(t))
        fill_weights(m)
        m.save(os.path.join(d, fn))
    m = build_tiny(keras, "weights_only")
    fill_weights(m)
    m.save_weights(os.path.join(d, "weights_only.weights.h5"))
    m = build_tiny(tf_keras, "weights_only")
    fill_weights(m)
    m.save_weights(os.path.join(d, "weights_only_tfkeras.h5"))
    # shape mismatch: valid tf_keras model file, conv kernel replaced by (3,3,3,5)
    m = build_tiny(tf_keras, "shape_mismatch")
    fill_weights(m)
    p = os.path.join(d, "shape_mismatch_tfkeras.h5")
    m.save(p)
    with h5py.File(p, "r+") as f:
        g = f["model_weights/conv/conv"]
        old = g["kernel:0"].shape
        del g["kernel:0"]
        g.create_dataset("kernel:0", data=np.full((3, 3, 3, 5), 0.1, np.float32))
        assert "model_config" in f.attrs
    print(f"[gen] bad fixtures written (shape_mismatch conv kernel {old} -> (3, 3, 3, 5))", flush=True)


# --------------------------------------------------------------------------
# self-check
# --------------------------------------------------------------------------

def self_check(out_root, names):
    ok = True

    def check(cond, msg):
        nonlocal ok
        print(("  ok   " if cond else "  FAIL ") + msg, flush=True)
        ok = ok and bool(cond)

    for name in names:
        d = os.path.join(out_root, "models", name)
        print(f"[check] {name}")
        spec = next(m for m in MODELS if m["name"] == name)
        if "check" in spec:
            spec["check"](spec, out_root, check)
            continue
        x = np.load(os.path.join(d, "input.npy"))
        yk = np.load(os.path.join(d, "output_keras3.npy"))
        yt = np.load(os.path.join(d, "output_tfkeras.npy"))
        check(x.dtype == np.float32 and x.shape[0] == 2, f"input {x.shape} {x.dtype}")
        for sfx in [""] + ["_" + v["suffix"] for v in spec.get("variants", [])]:
            # keras.applications' own layers (ConvNeXt's LayerScale) are not registered for loading.
            objects = {"LayerScale": tf_keras.src.applications.convnext.LayerScale}
            r = predict(tf_keras.models.load_model(os.path.join(d, f"tfkeras{sfx}.h5"), compile=False,
                                                   custom_objects=objects), x)
            check(np.allclose(r, yt, atol=1e-6), f"tfkeras{sfx}.h5 reload max err {np.max(np.abs(r - yt)):.2g}")
            if spec.get("keras3_h5_unloadable"):
                try:
                    keras.models.load_model(os.path.join(d, f"keras3{sfx}.h5"), compile=False)
                    check(False, f"keras3{sfx}.h5 was expected not to load back")
                except ValueError as e:
                    check(spec["keras3_h5_unloadable"] in str(e), f"keras3{sfx}.h5 does not load back: {str(e)[:60]}")
            else:
                r = predict(keras.models.load_model(os.path.join(d, f"keras3{sfx}.h5"), compile=False,
                                                    custom_objects={"LayerScale": keras.src.applications.convnext.LayerScale}), x)
                check(np.allclose(r, yk, atol=1e-6), f"keras3{sfx}.h5 reload max err {np.max(np.abs(r - yk)):.2g}")
            r = predict(keras.models.load_model(os.path.join(d, f"model{sfx}.keras"), compile=False), x)
            check(np.allclose(r, yk, atol=1e-6), f"model{sfx}.keras reload max err {np.max(np.abs(r - yk)):.2g}")
        if spec.get("tf_refuses"):
            with open(os.path.join(d, "info.json")) as f:
                refusal = json.load(f).get("tf_refusal", "")
            check(not any(fn.startswith("tf") and fn.endswith(".tflite") for fn in os.listdir(d))
                  and all(op in refusal for op in spec["tf_refuses"]),
                  f"no tf*.tflite; info.json records TensorFlow's refusal: {refusal}")
        else:
            r = run_tflite(os.path.join(d, "tf.tflite"), x)
            err = float(np.max(np.abs(r - yk)))
            # relative above 1, as the end-to-end tests measure (layers_preprocessing reaches 6)
            check(err <= 1e-5 * max(1.0, float(np.abs(yk).max())), f"tf.tflite (LiteRT) vs keras3 max err {err:.2g}")
        if spec.get("calibration"):
            cal = np.load(os.path.join(d, "calibration.npy"))
            check(np.array_equal(cal, make_calibration(spec["input_shape"], spec.get("data_scale", 1.0))),
                  f"calibration.npy {cal.shape} == RandomState({CALIB_SEED}) samples")
        if spec.get("quant"):
            check_quantized(spec, d, x, yk, check)
        diff = float(np.max(np.abs(yk - yt)))
        if name == "layers_activation":
            mask = np.ones(yk.shape[-1], bool)
            hs = ACTIVATIONS.index("hard_sigmoid")
            mask[hs * 4:(hs + 1) * 4] = False
            diff = float(np.max(np.abs(yk[..., mask] - yt[..., mask])))
            check(diff <= 1e-5, f"tfkeras vs keras3 (hard_sigmoid channels excluded) {diff:.2g}")
        else:
            check(diff <= 1e-5, f"tfkeras vs keras3 outputs {diff:.2g}")

    d = os.path.join(out_root, "bad")
    if os.path.isdir(d):
        print("[check] bad fixtures")
        xb = make_input((8, 8, 3), 5)
        m = tf_keras.models.load_model(os.path.join(d, "lambda_tfkeras.h5"), compile=False)
        check(any(type(l).__name__ == "Lambda" for l in m.layers), "lambda_tfkeras.h5 loads, has Lambda")
        for fn in ("lambda_keras3.h5", "lambda.keras"):
            try:
                keras.models.load_model(os.path.join(d, fn), compile=False)
                check(False, f"{fn} should be refused by safe_mode")
            except ValueError:
                check(True, f"{fn} refused by safe_mode (needs safe_mode=False)")
            m = keras.models.load_model(os.path.join(d, fn), compile=False, safe_mode=False)
            check(m.get_layer("lambda") is not None and predict(m, xb).shape == (2, 2), f"{fn} loads with safe_mode=False")
        for fn in ("custom_layer_keras3.h5", "custom_layer.keras"):
            m = keras.models.load_model(os.path.join(d, fn), compile=False)
            check(type(m.get_layer("my_custom_scale")).__name__ == "MyCustomScale", f"{fn} loads (registered)")
        with h5py.File(os.path.join(d, "weights_only.weights.h5"), "r") as f:
            check("model_config" not in f.attrs, "weights_only.weights.h5 has no model_config")
        with h5py.File(os.path.join(d, "weights_only_tfkeras.h5"), "r") as f:
            check("model_config" not in f.attrs and "layer_names" in f.attrs,
                  "weights_only_tfkeras.h5 has no model_config, has layer_names")
        try:
            tf_keras.models.load_model(os.path.join(d, "shape_mismatch_tfkeras.h5"), compile=False)
            check(False, "shape_mismatch_tfkeras.h5 should fail to load")
        except ValueError as e:
            check(True, f"shape_mismatch_tfkeras.h5 rejected by tf_keras: {str(e)[:90]}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE, help="golden root (default: this folder)")
    ap.add_argument("--only", default="", help="comma separated model names (default all)")
    ap.add_argument("--no-bad", action="store_true", help="skip golden/bad")
    ap.add_argument("--check-only", action="store_true", help="only run the self-check")
    args = ap.parse_args()
    tf.random.set_seed(SEED)
    keras.utils.set_random_seed(SEED)
    tf_keras.utils.set_random_seed(SEED)
    names = [m["name"] for m in MODELS]
    if args.only:
        want = args.only.split(",")
        unknown = set(want) - set(names)
        if unknown:
            sys.exit(f"unknown model(s): {sorted(unknown)}; known: {names}")
        names = want
    if not args.check_only:
        for spec in MODELS:
            if spec["name"] in names:
                generate_model(spec, args.out)
        if not args.no_bad and not args.only:
            generate_bad(args.out)
    ok = self_check(args.out, names)
    print("SELF-CHECK", "PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
