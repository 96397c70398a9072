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
and, for the models with a `quant` entry (chexnet_nested, mini_densenet,
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
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def make_input(shape, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    return (rng.normal(0.0, 1.0, (2,) + tuple(shape)) * scale).astype(np.float32)


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
        elif v == "int8":  # float32 only at the edges (QUANTIZE in, DEQUANTIZE out)
            ok = types.get("FLOAT32") == 2 and io == ("FLOAT32", "FLOAT32")
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
    yk, yt = predict(km, x), predict(tm, x)
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output_keras3.npy"), yk)
    np.save(os.path.join(d, "output_tfkeras.npy"), yt)
    tm.save(os.path.join(d, "tfkeras.h5"))
    save_keras3_h5(km, os.path.join(d, "keras3.h5"))
    km.save(os.path.join(d, "model.keras"))
    for v in spec.get("variants", []):
        vk, vt = build_pair(v["build"], x, v.get("compile"))
        assert np.allclose(predict(vk, x), yk, atol=1e-6) and np.allclose(predict(vt, x), yt, atol=1e-6)
        vt.save(os.path.join(d, f"tfkeras_{v['suffix']}.h5"))
        save_keras3_h5(vk, os.path.join(d, f"keras3_{v['suffix']}.h5"))
        vk.save(os.path.join(d, f"model_{v['suffix']}.keras"))
    tfl = convert_tflite(km)
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
        "max_abs_diff_tflite_vs_keras3": float(np.max(np.abs(run_tflite(tfl, x) - yk))),
    }
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
    print(f"[gen] {name}: out {yk.shape}, tfkeras-vs-keras3 {info['max_abs_diff_tfkeras_vs_keras3']:.3g}, "
          f"tflite-vs-keras3 {info['max_abs_diff_tflite_vs_keras3']:.3g}{q}", flush=True)


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
            r = predict(tf_keras.models.load_model(os.path.join(d, f"tfkeras{sfx}.h5"), compile=False), x)
            check(np.allclose(r, yt, atol=1e-6), f"tfkeras{sfx}.h5 reload max err {np.max(np.abs(r - yt)):.2g}")
            r = predict(keras.models.load_model(os.path.join(d, f"keras3{sfx}.h5"), compile=False), x)
            check(np.allclose(r, yk, atol=1e-6), f"keras3{sfx}.h5 reload max err {np.max(np.abs(r - yk)):.2g}")
            r = predict(keras.models.load_model(os.path.join(d, f"model{sfx}.keras"), compile=False), x)
            check(np.allclose(r, yk, atol=1e-6), f"model{sfx}.keras reload max err {np.max(np.abs(r - yk)):.2g}")
        r = run_tflite(os.path.join(d, "tf.tflite"), x)
        err = float(np.max(np.abs(r - yk)))
        check(err <= 1e-5, f"tf.tflite (LiteRT) vs keras3 max err {err:.2g}")
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
