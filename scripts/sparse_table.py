#!/usr/bin/env python3
"""Sparse weights on a full-size model: h5tolite's --sparse-weights against TensorFlow's sparsifier.

For each sparsity, h5tolite prunes the model by magnitude (`--prune S`, no refit) and writes it
twice, dense and with `--sparse-weights`. TensorFlow's own sparse file of the same weights comes
from handing the dense pruned file to TensorFlow's sparsifier (`mlir_sparsify`, the DenseToSparse
pass that `tf.lite.Optimize.EXPERIMENTAL_SPARSITY` runs at the end of a conversion), so both
sparse files hold exactly the same numbers. Prints bytes, gzip bytes, LiteRT latency (median of
a few runs; the machine may be shared, so treat it as indicative) and each file's largest
difference from the dense file's outputs, as a Markdown table.

Needs TensorFlow 2.21 and ai-edge-litert (e.g. /work/tfvenv) and a built h5tolite:

    /work/tfvenv/bin/python scripts/sparse_table.py [--model /work/fullsize/densenet121/keras3.h5] [--sparsity 0.5,0.8]
"""
import argparse
import gzip
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = pathlib.Path(__file__).resolve().parents[1]


def litert(path, inputs, threads, repeats):
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


def tensorflow_sparsify(dense, target):
    from tensorflow.lite.python.convert import mlir_sparsify

    target.write_bytes(mlir_sparsify(dense.read_bytes()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/work/fullsize/densenet121/keras3.h5")
    parser.add_argument("--inputs", default=None, help="input .npy (default: input.npy next to the model)")
    parser.add_argument("--sparsity", default="0.5,0.8")
    parser.add_argument("--quantize", default="none", help="h5tolite --quantize mode of all three files")
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "h5tolite"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    model = pathlib.Path(args.model)
    inputs = np.load(args.inputs or model.parent / "input.npy").astype(np.float32)[:2]
    rows = ["| sparsity | file | bytes | gzip bytes | LiteRT ms | max diff vs dense |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        for sparsity in args.sparsity.split(","):
            dense, ours, theirs = (folder / f"{name}_{sparsity}.tflite" for name in ("dense", "ours", "tf"))
            common = ["--prune", sparsity, "--quantize", args.quantize]
            subprocess.run([args.binary, "convert", str(model), "-o", str(dense), *common], check=True, capture_output=True)
            report = subprocess.run([args.binary, "convert", str(model), "-o", str(ours), *common, "--sparse-weights"],
                                    check=True, capture_output=True, text=True).stdout
            print(*[line for line in report.splitlines() if line.startswith("sparse-weights")], sep="\n")
            tensorflow_sparsify(dense, theirs)
            reference, _ = litert(dense, inputs, args.threads, 1)
            for label, path in (("h5tolite dense (pruned)", dense), ("h5tolite --sparse-weights", ours),
                                ("TensorFlow mlir_sparsify, same weights", theirs)):
                data = path.read_bytes()
                outputs, ms = litert(path, inputs, args.threads, args.repeats)
                rows.append(f"| {sparsity} | {label} | {len(data):,} | {len(gzip.compress(data, 9)):,} | {ms:.1f} | "
                            f"{np.abs(outputs - reference).max():.1e} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
