#!/usr/bin/env python3
"""Every keras.applications model at full size, h5tolite against TensorFlow's converter.

    /tmp/tfvenv/bin/python scripts/applications_table.py [--h5tolite .build/release/h5tolite]
        [--models ResNet50,ConvNeXtTiny,...] [--out /work/applications]

For each model (random He-scaled kernels, weights=None: nothing is downloaded; include_top
with 10 classes and a linear head, so errors are on logits), it saves Keras 3 `.h5` and `.keras`
files, converts the `.h5` with h5tolite (wall time of the CLI, the Keras reader included)
and with tf.lite.TFLiteConverter.from_keras_model, runs both files in LiteRT on one seeded
sample and prints a Markdown row: converts?, both file sizes, max abs error against Keras
(relative above 1), both conversion times. A failure is printed as h5tolite's one-line error.
Not run by CI (TensorFlow; minutes per model); the outputs stay outside the repository.
"""

import argparse
import contextlib
import io
import os
import subprocess
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

MODELS = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
          "InceptionV3", "InceptionResNetV2", "Xception", "MobileNet", "MobileNetV2", "MobileNetV3Small",
          "MobileNetV3Large", "DenseNet121", "DenseNet169", "DenseNet201", "NASNetMobile", "NASNetLarge",
          "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5",
          "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
          "EfficientNetV2B3", "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L", "ConvNeXtTiny",
          "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]


def litert(path, x):
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1, np.abs(b))))


def row(name, h5tolite, out):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model = getattr(keras.applications, name)(weights=None, classes=10, classifier_activation=None)
    rng = np.random.RandomState(0)
    for w in model.weights:  # He-scaled kernels; biases and BatchNorm statistics as Keras initialises them
        if len(w.shape) > 1:
            w.assign(rng.normal(0, np.sqrt(2 / np.prod(w.shape[:-1])), w.shape).astype(np.float32))
    shape = model.input_shape[1:]
    x = rng.uniform(0, 255, (1,) + shape).astype(np.float32)
    expected = model.predict(x, verbose=0)
    h5 = os.path.join(folder, "keras3.h5")
    model.save(h5)
    ours = os.path.join(folder, "h5tolite.tflite")
    start = time.time()
    result = subprocess.run([h5tolite, "convert", h5, "-o", ours], capture_output=True, text=True)
    our_time = time.time() - start
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its SavedModel's signature
        tf_bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    tf_time = time.time() - start
    theirs = os.path.join(folder, "tf.tflite")
    with open(theirs, "wb") as f:
        f.write(tf_bytes)
    tf_error = error(litert(theirs, x), expected)
    if result.returncode != 0:
        return (f"| {name} | no: {result.stderr.strip()} | - | {len(tf_bytes) / 1e6:.2f} MB | - | {tf_error:.1e} "
                f"| - | {tf_time:.1f} s |")
    return (f"| {name} | yes | {os.path.getsize(ours) / 1e6:.2f} MB | {len(tf_bytes) / 1e6:.2f} MB "
            f"| {error(litert(ours, x), expected):.1e} | {tf_error:.1e} | {our_time:.2f} s | {tf_time:.1f} s |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--h5tolite", default=".build/release/h5tolite")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default="/work/applications")
    args = parser.parse_args()
    print("| model | h5tolite converts | size, ours | size, TF | max error, ours | max error, TF | time, ours | time, TF |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        print(row(name, os.path.abspath(args.h5tolite), args.out), flush=True)


if __name__ == "__main__":
    main()
