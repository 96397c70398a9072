#!/usr/bin/env python3
"""Build full-size keras.applications models (random weights) as local test inputs.

Not run by CI and the outputs are NOT committed (hundreds of MB): they go to
--out (default /work/fullsize, outside the repository).  Use them for manual /
benchmark runs of h5tolite against real-sized graphs.

Usage (pinned stack, see golden/requirements.txt):
    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install -r golden/requirements.txt
    /tmp/tfvenv/bin/python scripts/make_fullsize.py                      # all models
    /tmp/tfvenv/bin/python scripts/make_fullsize.py --models densenet121,mobilenetv2 --out /tmp/fs
    /tmp/tfvenv/bin/python scripts/make_fullsize.py --models mobilenetv2 --quantized   # + TF PTQ files

Models (weights=None: nothing is downloaded):
    densenet121  CheXNet shape: Sequential([DenseNet121(include_top=False, 224x224x3),
                 GlobalAveragePooling2D, Dense(14, sigmoid)])
    densenet201  same Sequential style, Dense(2, softmax)
    inceptionv3  InceptionV3(include_top=True, classes=2, 299x299x3)  (flat functional model)
    mobilenetv2  MobileNetV2(include_top=True, classes=2, 224x224x3)  (flat functional model)
    resnet50     ResNet50(include_top=True, classes=2, 224x224x3)     (flat functional model)

For every model, in OUT/NAME/:
    keras3.h5, model.keras   built in Keras 3 (legacy HDF5 writer / native archive)
    tfkeras.h5               the same architecture built in tf_keras, weights copied
                             layer by layer with get_weights/set_weights (outputs verified)
    input.npy                float32 (2, H, W, 3), RandomState normal
    output_keras3.npy, output_tfkeras.npy
    tf_float32.tflite        tf.lite.TFLiteConverter.from_keras_model(Keras 3 model)
    tf_convert.json          converter wall time [s], file size, LiteRT max abs error vs
                             Keras (batch 1 per sample), LiteRT invoke time, versions

With --quantized, also TensorFlow's post-training quantization of the same Keras 3 model
(same converter settings as golden/generate.py):
    calibration.npy          float32 (32, H, W, 3), RandomState(SEED + 2).normal
    tf_float16.tflite        optimizations=[DEFAULT], target_spec.supported_types=[tf.float16]
    tf_dynamic.tflite        optimizations=[DEFAULT] (dynamic range, no representative dataset)
    tf_int8.tflite           DEFAULT + representative_dataset (calibration.npy, one sample per
                             step) + supported_ops=[TFLITE_BUILTINS_INT8]; float32 input/output
and tf_convert.json gets a "quantized" section: per variant the converter wall time, file
size, LiteRT max abs error vs Keras 3 (input.npy, batch 1 per sample) and LiteRT latency
(num_threads=2, one warm-up invoke, median of 10 invokes on sample 0), plus the same
latency measurement for tf_float32.tflite as the baseline.

BatchNormalization: the random-init moving statistics (0/1) would make BN a near identity
and let activations drift through 100+ layers, so every BN is first calibrated on a
separate seeded batch (one forward pass in training mode with momentum 0, so the moving
statistics become that batch's statistics), then perturbed from a seeded RandomState:
gamma ~ U(0.8, 1.2), beta ~ U(-0.1, 0.1), moving_mean += N(0, 0.1)*sqrt(var),
moving_variance *= U(0.8, 1.25).  Activations stay O(1) and BN folding is exercised
with non-trivial values.
"""

import argparse
import json
import os
import sys
import time
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
import keras  # noqa: E402

tf.get_logger().setLevel("ERROR")
try:
    from ai_edge_litert.interpreter import Interpreter  # noqa: E402
except ImportError:  # pragma: no cover
    Interpreter = tf.lite.Interpreter

SEED = 2024
CALIB_SAMPLES = 32
QUANT_VARIANTS = ("float16", "dynamic", "int8")
LATENCY_THREADS = 2
LATENCY_RUNS = 10

MODELS = {
    "densenet121": dict(app="DenseNet121", size=224, style="sequential", classes=14, act="sigmoid"),
    "densenet201": dict(app="DenseNet201", size=224, style="sequential", classes=2, act="softmax"),
    "inceptionv3": dict(app="InceptionV3", size=299, style="flat", classes=2, act="softmax"),
    "mobilenetv2": dict(app="MobileNetV2", size=224, style="flat", classes=2, act="softmax"),
    "resnet50": dict(app="ResNet50", size=224, style="flat", classes=2, act="softmax"),
}


def build(K, spec):
    """Same architecture in Keras 3 or tf_keras (clear_session => canonical auto names)."""
    K.backend.clear_session()
    shape = (spec["size"], spec["size"], 3)
    app = getattr(K.applications, spec["app"])
    if spec["style"] == "sequential":
        base = app(include_top=False, weights=None, input_shape=shape)
        return K.Sequential([
            base,
            K.layers.GlobalAveragePooling2D(name="global_average_pooling2d"),
            K.layers.Dense(spec["classes"], activation=spec["act"], name="dense"),
        ], name="sequential")
    return app(include_top=True, weights=None, input_shape=shape,
               classes=spec["classes"], classifier_activation=spec["act"])


def leaf_layers(model):
    for layer in model.layers:
        sub = getattr(layer, "layers", None)
        if isinstance(sub, list) and sub:
            yield from leaf_layers(layer)
        else:
            yield layer


def calibrate_bn(model, x_cal, seed):
    bns = [l for l in leaf_layers(model) if type(l).__name__ == "BatchNormalization"]
    saved = [l.momentum for l in bns]
    for l in bns:
        l.momentum = 0.0
    model(x_cal, training=True)  # moving stats := batch stats of x_cal, all layers in one pass
    for l, m in zip(bns, saved):
        l.momentum = m
    for l in bns:
        rng = np.random.RandomState(zlib.crc32(f"{seed}:{l.name}".encode()))
        new = []
        for w, v in zip(l.weights, l.get_weights()):
            kind = w.name.split("/")[-1].split(":")[0]
            if kind == "gamma":
                v = rng.uniform(0.8, 1.2, v.shape)
            elif kind == "beta":
                v = rng.uniform(-0.1, 0.1, v.shape)
            elif kind == "moving_mean":
                mv = l.moving_variance.numpy()
                v = v + rng.normal(0.0, 0.1, v.shape) * np.sqrt(mv)
            elif kind == "moving_variance":
                v = v * rng.uniform(0.8, 1.25, v.shape)
            new.append(np.asarray(v, np.float32))
        l.set_weights(new)
    return len(bns)


def copy_weights(src, dst):
    a, b = list(leaf_layers(src)), list(leaf_layers(dst))
    assert len(a) == len(b), (len(a), len(b))
    n = 0
    for la, lb in zip(a, b):
        wa = la.get_weights()
        if not wa:
            continue
        assert la.name.replace("/", "_") == lb.name.replace("/", "_") or \
            type(la).__name__ == type(lb).__name__, (la.name, lb.name)
        lb.set_weights(wa)
        n += 1
    return n


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0, batch_size=1), np.float32)


def run_litert(path, x):
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys, times = [], []
    for i in range(x.shape[0]):
        it.set_tensor(inp["index"], x[i:i + 1])
        t = time.time()
        it.invoke()
        times.append(time.time() - t)
        ys.append(it.get_tensor(out["index"]).copy())
    return np.concatenate(ys, 0), times


def convert_quantized(model, variant, calibration):
    """TFLiteConverter.from_keras_model with TF's post-training quantization
    (identical settings to golden/generate.py convert_quantized)."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        conv.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        def representative_dataset():
            for i in range(calibration.shape[0]):
                yield [calibration[i:i + 1]]
        conv.representative_dataset = representative_dataset
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        assert variant == "dynamic", variant
    return conv.convert()


def litert_latency(path, x1, threads=LATENCY_THREADS, runs=LATENCY_RUNS):
    """Median wall time of `runs` invokes (after one warm-up) with `threads` threads."""
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x1)
    it.invoke()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def make_quantized(d, km, shape, x, yk, yt):
    """calibration.npy + tf_<variant>.tflite; returns the tf_convert.json "quantized" section."""
    cal = np.random.RandomState(SEED + 2).normal(0, 1, (CALIB_SAMPLES,) + shape).astype(np.float32)
    np.save(os.path.join(d, "calibration.npy"), cal)
    med, times = litert_latency(os.path.join(d, "tf_float32.tflite"), x[:1])
    out = {
        "calibration": f"calibration.npy: float32 {list(cal.shape)}, RandomState({SEED + 2}).normal(0,1); "
                       f"representative_dataset yields [calibration[i:i+1]] for i in 0..{CALIB_SAMPLES - 1}",
        "latency_method": f"ai_edge_litert Interpreter(num_threads={LATENCY_THREADS}), input.npy sample 0, "
                          f"one warm-up invoke, median of {LATENCY_RUNS} invokes",
        "float32": {"file": "tf_float32.tflite", "litert_latency_median_seconds": round(med, 5),
                    "litert_latency_seconds": [round(v, 5) for v in times]},
    }
    for v in QUANT_VARIANTS:
        t = time.time()
        b = convert_quantized(km, v, cal)
        t_conv = time.time() - t
        p = os.path.join(d, f"tf_{v}.tflite")
        with open(p, "wb") as f:
            f.write(b)
        yl, _ = run_litert(p, x)
        med, times = litert_latency(p, x[:1])
        out[v] = {
            "file": f"tf_{v}.tflite",
            "converter_seconds": round(t_conv, 3),
            "tflite_bytes": len(b),
            "litert_max_abs_err_vs_keras3": float(np.max(np.abs(yl - yk))),
            "litert_max_abs_err_vs_tfkeras": float(np.max(np.abs(yl - yt))),
            "litert_latency_median_seconds": round(med, 5),
            "litert_latency_seconds": [round(t, 5) for t in times],
        }
        print(f"    {v}: converter {t_conv:.1f}s, {len(b) / 1e6:.2f} MB, LiteRT err "
              f"{out[v]['litert_max_abs_err_vs_keras3']:.3g}, latency {med * 1e3:.1f} ms "
              f"(float32 {out['float32']['litert_latency_median_seconds'] * 1e3:.1f} ms)", flush=True)
    return out


def make(name, out_root, quantized=False):
    spec = MODELS[name]
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    shape = (spec["size"], spec["size"], 3)
    x = np.random.RandomState(SEED).normal(0, 1, (2,) + shape).astype(np.float32)
    x_cal = np.random.RandomState(SEED + 1).normal(0, 1, (4,) + shape).astype(np.float32)

    keras.utils.set_random_seed(SEED)
    km = build(keras, spec)
    nbn = calibrate_bn(km, x_cal, SEED)
    tf_keras.utils.set_random_seed(SEED)
    tm = build(tf_keras, spec)
    ncopied = copy_weights(km, tm)
    yk, yt = predict(km, x), predict(tm, x)
    diff = float(np.max(np.abs(yk - yt)))
    print(f"[{name}] built ({nbn} BN calibrated, {ncopied} layers copied) in {time.time() - t0:.1f}s; "
          f"outputs {yk.shape} keras3 vs tf_keras max diff {diff:.3g}; sample0 {np.round(yk[0][:4], 4)}",
          flush=True)
    if diff > 1e-4:
        sys.exit(f"{name}: tf_keras and Keras 3 outputs differ by {diff}")
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output_keras3.npy"), yk)
    np.save(os.path.join(d, "output_tfkeras.npy"), yt)

    t = time.time()
    tm.save(os.path.join(d, "tfkeras.h5"))
    km.save(os.path.join(d, "keras3.h5"))
    km.save(os.path.join(d, "model.keras"))
    t_save = time.time() - t

    t = time.time()
    tfl = tf.lite.TFLiteConverter.from_keras_model(km).convert()
    t_conv = time.time() - t
    p = os.path.join(d, "tf_float32.tflite")
    with open(p, "wb") as f:
        f.write(tfl)
    yl, inv = run_litert(p, x)
    info = {
        "model": name,
        "keras_application": spec["app"],
        "style": spec["style"],
        "input_shape": list(shape),
        "converter": "tf.lite.TFLiteConverter.from_keras_model(keras3 model).convert(), float32 default",
        "converter_seconds": round(t_conv, 3),
        "tflite_bytes": len(tfl),
        "litert_max_abs_err_vs_keras3": float(np.max(np.abs(yl - yk))),
        "litert_max_abs_err_vs_tfkeras": float(np.max(np.abs(yl - yt))),
        "litert_invoke_seconds_per_sample": [round(v, 4) for v in inv],
        "keras3_vs_tfkeras_max_abs_diff": diff,
        "save_seconds_all_three_files": round(t_save, 3),
        "file_bytes": {f: os.path.getsize(os.path.join(d, f)) for f in
                       ("tfkeras.h5", "keras3.h5", "model.keras")},
        "versions": {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
    }
    if quantized:
        info["quantized"] = make_quantized(d, km, shape, x, yk, yt)
    with open(os.path.join(d, "tf_convert.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"[{name}] converter {t_conv:.1f}s, tflite {len(tfl) / 1e6:.1f} MB, LiteRT err {info['litert_max_abs_err_vs_keras3']:.3g}, "
          f"total {time.time() - t0:.1f}s", flush=True)
    return info


def main():
    ap = argparse.ArgumentParser(description="Full-size keras.applications fixtures (not committed).")
    ap.add_argument("--out", default="/work/fullsize")
    ap.add_argument("--models", default=",".join(MODELS), help="comma list of " + ",".join(MODELS))
    ap.add_argument("--quantized", action="store_true",
                    help="also write TF's tf_float16/tf_dynamic/tf_int8.tflite (+ calibration.npy) and "
                         "record their converter time, size, LiteRT error and latency in tf_convert.json")
    args = ap.parse_args()
    names = [n.strip().lower() for n in args.models.split(",") if n.strip()]
    bad = [n for n in names if n not in MODELS]
    if bad:
        sys.exit(f"unknown model(s) {bad}; choose from {list(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    summary = {n: make(n, args.out, quantized=args.quantized) for n in names}
    sp = os.path.join(args.out, "summary.json")
    merged = {}
    if os.path.exists(sp):
        with open(sp) as f:
            merged = json.load(f)
    merged.update(summary)
    with open(sp, "w") as f:
        json.dump(merged, f, indent=2)
    keys = ("converter_seconds", "tflite_bytes", "litert_max_abs_err_vs_keras3")
    table = {n: {k: s[k] for k in keys} for n, s in summary.items()}
    for n, s in summary.items():
        if "quantized" in s:
            table[n]["float32_litert_latency_median_seconds"] = s["quantized"]["float32"]["litert_latency_median_seconds"]
            for v in QUANT_VARIANTS:
                table[n][v] = {k: s["quantized"][v][k] for k in keys + ("litert_latency_median_seconds",)}
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
