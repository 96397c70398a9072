#!/usr/bin/env python3
"""Side-by-side figures for full-size models: h5tolite vs TensorFlow's converter.

Needs the models made by scripts/make_fullsize.py (default /work/fullsize; `--quantized` there
adds TF's float16/dynamic/int8 files) and a venv with ai-edge-litert and numpy (e.g. .test-venv
from scripts/test.sh). For each model, source format and mode it converts with h5tolite (wall
time, file size), runs our file and TF's file in LiteRT on the same inputs (max abs error vs
Keras, median latency with --threads) and prints a Markdown table.

    .test-venv/bin/python scripts/compare_fullsize.py [--models densenet121,...] [--modes float32,float16,dynamic]
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
    parser.add_argument("--modes", default="float32", help="comma-separated: float32,float16,dynamic,int8")
    parser.add_argument("--sources", default=",".join(FORMATS), help="comma-separated source files")
    args = parser.parse_args()
    rows = ["| model | mode | source | h5tolite s | TF s | ours MB | TF MB | ours max err | TF max err | ours ms | TF ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model in args.models.split(","):
        folder = pathlib.Path(args.dir) / model
        tf_info = json.loads((folder / "tf_convert.json").read_text())
        inputs = np.load(folder / "input.npy").astype(np.float32)
        expected_tf = np.load(folder / "output_keras3.npy")
        for mode in args.modes.split(","):
            tf_file = folder / f"tf_{mode}.tflite"
            if not tf_file.exists():
                continue
            tf_mode = tf_info.get("quantized", {}).get(mode, {})
            tf_seconds = tf_mode.get("converter_seconds", tf_info["converter_seconds"])
            tf_out, tf_ms = litert(tf_file, inputs, args.threads)
            tf_error = np.abs(tf_out - expected_tf).max()
            for source in args.sources.split(","):
                command = [args.binary, "convert", str(folder / source), "-o"]
                quantize = [] if mode == "float32" else ["--quantize", mode]
                if mode == "int8":
                    quantize += ["--calibration", str(folder / "calibration.npy")]
                with tempfile.TemporaryDirectory() as tmp:
                    out = pathlib.Path(tmp) / "model.tflite"
                    start = time.perf_counter()
                    subprocess.run(command + [str(out)] + quantize, check=True, capture_output=True)
                    seconds = time.perf_counter() - start
                    ours, ours_ms = litert(out, inputs, args.threads)
                    size = out.stat().st_size
                error = np.abs(ours - np.load(folder / FORMATS[source])).max()
                rows.append(f"| {model} | {mode} | {source} | {seconds:.2f} | {tf_seconds:.1f} | "
                            f"{size / 1e6:.2f} | {tf_file.stat().st_size / 1e6:.2f} | {error:.1e} | {tf_error:.1e} | "
                            f"{ours_ms:.1f} | {tf_ms:.1f} |")
                print(rows[-1], file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
