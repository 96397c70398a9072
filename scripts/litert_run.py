#!/usr/bin/env python3
"""Run a .tflite model in LiteRT, the official TFLite runtime, sample by sample.

    python scripts/litert_run.py MODEL.tflite X.npy Y.npy [--threads N]

The reference the bundled interpreter (`h5tolite run`) is checked against: the
same command line and the same batch rule. The first axis of X is the batch; an
X shaped like one model input without its batch axis is one sample. Models with
int8/uint8 inputs get X quantized with the input's scale and zero point as
TFLite's QUANTIZE does (x / scale in double, halves rounded away from zero, the
same rule as `h5tolite run`), and quantized outputs are dequantized, so Y is
always float32.
"""

import argparse
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def round_half_away(v):
    """np.round rounds halves to even; TFLite rounds them away from zero."""
    whole = np.trunc(v)
    return np.where(np.abs(v - whole) == 0.5, whole + np.sign(v), np.round(v))


def quantize(x, detail):
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32 or scale == 0:
        return x.astype(detail["dtype"])
    info = np.iinfo(detail["dtype"])
    q = round_half_away(x.astype(np.float64) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(detail["dtype"])


def dequantize(y, detail):
    scale, zero_point = detail["quantization"]
    if detail["dtype"] == np.float32 or scale == 0:
        return y.astype(np.float32)
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


def run(model, x, threads):
    interpreter = Interpreter(model_path=model, num_threads=threads)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        sys.exit(f"{model}: the model has {len(inputs)} inputs and {len(outputs)} outputs; one of each is supported")
    sample_shape = tuple(inputs[0]["shape"][1:])
    if x.shape == sample_shape:
        x = x[np.newaxis]
    if x.shape[1:] != sample_shape:
        sys.exit(f"X has shape {x.shape}, the model needs (N, {', '.join(map(str, sample_shape))})")
    interpreter.allocate_tensors()
    results = []
    for sample in x:
        interpreter.set_tensor(inputs[0]["index"], quantize(sample[np.newaxis], inputs[0]))
        interpreter.invoke()
        results.append(dequantize(interpreter.get_tensor(outputs[0]["index"]), outputs[0]))
    return np.concatenate(results, axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    y = run(args.model, np.load(args.input).astype(np.float32), args.threads)
    # Written beside the target, then renamed, so a failure leaves no partial file.
    temporary = f"{args.output}.tmp-{os.getpid()}.npy"
    np.save(temporary, y)
    os.replace(temporary, args.output)


if __name__ == "__main__":
    main()
