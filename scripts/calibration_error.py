"""Error of int8 logits against float, per --calibration-method, on the golden models.

Each model is calibrated on the first half of its golden calibration.npy and measured on the
held-out rest plus its input.npy, in LiteRT without delegates. The logits are the input of the
final SOFTMAX or LOGISTIC (the model's output when it has none): random-weight models give nearly
constant outputs after a softmax, which says little. The float32 file stands in for Keras (the
float tests hold it within 1e-5 of Keras). The error is the mean absolute difference divided by the
float logits' range over the held-out samples.

    H5TOLITE=.build/debug/h5tolite python scripts/calibration_error.py [--methods minmax,mse] [MODEL|FOLDER ...]

A FOLDER (such as /work/fullsize/densenet121) holds keras3.h5, calibration.npy and input.npy as a
golden model's does; with --tensorflow, its tf_int8.tflite is measured too (TensorFlow calibrated
it on the whole calibration.npy, held-out half included).
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "models"


def logits(path, samples):
    """The final activation's input (else the model's output) for each sample."""
    # No delegate: XNNPACK would take the final ops, and their tensors, out of reach.
    interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    output = interpreter.get_output_details()[0]["index"]
    producers = {index: op for op in interpreter._get_ops_details() for index in op["outputs"]}
    head = output
    # TensorFlow's files end in an int8 activation and a DEQUANTIZE.
    while head in producers and producers[head]["op_name"] == "DEQUANTIZE":
        head = producers[head]["inputs"][0]
    has_head = head in producers and producers[head]["op_name"] in ("SOFTMAX", "LOGISTIC")
    target = producers[head]["inputs"][0] if has_head else output
    # TensorFlow's files feed an int8 SOFTMAX: its input is int8, read back as real values.
    scale, zero_point = next(t["quantization"] for t in interpreter.get_tensor_details() if t["index"] == target)
    results = []
    for sample in samples:
        interpreter.set_tensor(input_detail["index"], sample[None].astype(np.float32))
        interpreter.invoke()
        values = interpreter.get_tensor(target).astype(np.float32)
        results.append((values - zero_point) * scale if scale else values.copy())
    return np.stack(results)


def model_folder(model):
    return Path(model) if "/" in model else GOLDEN / model


def convert(h5tolite, model, out, *extra):
    subprocess.run([h5tolite, "convert", model_folder(model) / "keras3.h5", "-o", out, *extra], check=True,
                   capture_output=True)


def measure(h5tolite, model, methods, folder, tensorflow=False):
    calibration = np.load(model_folder(model) / "calibration.npy")
    half = len(calibration) // 2
    np.save(folder / "calibration.npy", calibration[:half])
    held_out = np.concatenate([calibration[half:], np.load(model_folder(model) / "input.npy")])
    convert(h5tolite, model, folder / "float.tflite")
    expected = logits(folder / "float.tflite", held_out)
    scale = max(float(expected.max() - expected.min()), 1e-12)
    errors = {}
    for method in methods:
        out = folder / f"{method}.tflite"
        convert(h5tolite, model, out, "--quantize", "int8", "--calibration", folder / "calibration.npy",
                "--calibration-method", method)
        errors[method] = float(np.abs(logits(out, held_out) - expected).mean()) / scale
    if tensorflow and (model_folder(model) / "tf_int8.tflite").exists():
        errors["tensorflow"] = float(np.abs(logits(model_folder(model) / "tf_int8.tflite", held_out) - expected).mean()) / scale
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*")
    parser.add_argument("--methods", default="minmax,mse")
    parser.add_argument("--tensorflow", action="store_true")
    args = parser.parse_args()
    h5tolite = os.environ.get("H5TOLITE", "h5tolite")
    methods = args.methods.split(",")
    columns = methods + (["tensorflow"] if args.tensorflow else [])
    models = args.models or sorted(p.name for p in GOLDEN.iterdir()
                                   if (p / "calibration.npy").exists() and (p / "input.npy").exists())
    print("| model | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for model in models:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                errors = measure(h5tolite, model, methods, Path(tmp), args.tensorflow)
            except subprocess.CalledProcessError as error:
                print(f"{model}: {error.stderr.decode().strip()}", file=sys.stderr)
                continue
        print(f"| {Path(model).name} | " + " | ".join(f"{errors[m]:.5f}" if m in errors else "-" for m in columns) + " |", flush=True)


if __name__ == "__main__":
    main()
