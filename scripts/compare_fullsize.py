#!/usr/bin/env python3
"""Side-by-side figures for full-size models: h5tolite vs TensorFlow's converter.

Needs the models made by scripts/make_fullsize.py (default /work/fullsize) and a venv with
ai-edge-litert and numpy (e.g. .test-venv from scripts/test.sh). For each model and format it
converts with h5tolite (wall time, file size), runs our file and TF's file in LiteRT on the
same inputs (max abs error vs Keras, median latency with --threads) and prints a Markdown table.

    .test-venv/bin/python scripts/compare_fullsize.py [--models densenet121,...] [--threads 2]
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORMATS = {"tfkeras.h5": "output_tfkeras.npy", "keras3.h5": "output_keras3.npy", "model.keras": "output_keras3.npy"}


def litert(path, inputs, threads, repeats=10):
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs = []
    for sample in inputs:
        interpreter.set_tensor(inp["index"], sample[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(out["index"])[0].copy())
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter.invoke()
        timings.append(time.perf_counter() - start)
    return np.stack(outputs), statistics.median(timings) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="densenet121,densenet201,inceptionv3,mobilenetv2,resnet50")
    parser.add_argument("--dir", default="/work/fullsize")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "h5tolite"))
    args = parser.parse_args()
    rows = ["| model | source | h5tolite s | TF s | ours MB | TF MB | ours max err | TF max err | ours ms | TF ms |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for model in args.models.split(","):
        folder = pathlib.Path(args.dir) / model
        tf_info = json.loads((folder / "tf_convert.json").read_text())
        inputs = np.load(folder / "input.npy").astype(np.float32)
        expected_tf = np.load(folder / "output_keras3.npy")
        tf_out, tf_ms = litert(folder / "tf_float32.tflite", inputs, args.threads)
        for source, reference in FORMATS.items():
            with tempfile.TemporaryDirectory() as tmp:
                out = pathlib.Path(tmp) / "model.tflite"
                start = time.perf_counter()
                subprocess.run([args.binary, "convert", str(folder / source), "-o", str(out)], check=True,
                               capture_output=True)
                seconds = time.perf_counter() - start
                ours, ours_ms = litert(out, inputs, args.threads)
                size = out.stat().st_size
            error = np.abs(ours - np.load(folder / reference)).max()
            tf_error = np.abs(tf_out - expected_tf).max()
            rows.append(f"| {model} | {source} | {seconds:.2f} | {tf_info['converter_seconds']:.1f} | "
                        f"{size / 1e6:.2f} | {tf_info['tflite_bytes'] / 1e6:.2f} | {error:.1e} | {tf_error:.1e} | "
                        f"{ours_ms:.1f} | {tf_ms:.1f} |")
            print(rows[-1], file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
