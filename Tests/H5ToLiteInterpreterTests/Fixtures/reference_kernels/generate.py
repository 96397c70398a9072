#!/usr/bin/env python3
"""Outputs of TFLite's reference kernels on the golden int8 files.

    python Tests/H5ToLiteInterpreterTests/Fixtures/reference_kernels/generate.py

For every golden/models/NAME/tf_int8.tflite and tf_int8_io.tflite, runs LiteRT
with the reference op resolver (BUILTIN_REF: TFLite's reference kernels, no
delegate) on input.npy, one sample at a time, and writes NAME_int8.npy (float32,
the model's own float output) and NAME_int8_io.npy (the raw int8 output; the
input quantized as TFLite's QUANTIZE does, halves away from zero). sources.tsv
records the size and FNV-1a hash of each model file, so the tests notice when a
golden model has been regenerated and these files are stale.
"""

import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def quantize(x, scale, zero_point):
    v = x.astype(np.float64) / scale
    whole = np.trunc(v)
    q = np.where(np.abs(v - whole) == 0.5, whole + np.sign(v), np.round(v))
    return np.clip(q + zero_point, -128, 127).astype(np.int8)


def run(path, x):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    ys = []
    for sample in x:
        sample = sample[np.newaxis]
        if inp["dtype"] == np.int8:
            sample = quantize(sample, *inp["quantization"])
        it.set_tensor(inp["index"], sample)
        it.invoke()
        ys.append(it.get_tensor(out["index"]).copy())
    return np.concatenate(ys)


def main():
    models = os.path.join(ROOT, "golden", "models")
    lines = []
    for name in sorted(os.listdir(models)):
        for variant in ("int8", "int8_io"):
            path = os.path.join(models, name, f"tf_{variant}.tflite")
            if not os.path.exists(path) or not os.path.exists(os.path.join(models, name, "input.npy")):
                continue  # multi_io has one input file per input and its own tests
            y = run(path, np.load(os.path.join(models, name, "input.npy")))
            np.save(os.path.join(HERE, f"{name}_{variant}.npy"), y)
            data = open(path, "rb").read()
            lines.append(f"{name}_{variant}\t{len(data)}\t{fnv1a64(data):016x}\n")
            print(name, variant, y.dtype, y.shape, file=sys.stderr)
    with open(os.path.join(HERE, "sources.tsv"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
