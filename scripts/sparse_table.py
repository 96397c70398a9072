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


def litert(paths, inputs, threads, repeats):
    """Each file's outputs and median latency (None, and LiteRT's error, for a file LiteRT cannot
    load); the files take turns, so a busy moment on a shared machine slows all of them alike."""
    interpreters, outputs = [], []
    for path in paths:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        try:
            interpreter.allocate_tensors()
        except RuntimeError as error:
            interpreters.append(None)
            outputs.append(str(error).splitlines()[0])
            continue
        interpreters.append(interpreter)
        (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
        results = []
        for sample in inputs:
            interpreter.set_tensor(inp["index"], sample[None])
            interpreter.invoke()
            results.append(interpreter.get_tensor(out["index"])[0].copy())
        outputs.append(np.stack(results))
    timings = [[] for _ in interpreters]
    for _ in range(repeats):
        for interpreter, times in zip(interpreters, timings):
            if interpreter is None:
                continue
            start = time.perf_counter()
            interpreter.invoke()
            times.append(time.perf_counter() - start)
    return outputs, [statistics.median(times) * 1000 if times else None for times in timings]


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
    parser.add_argument("--repeats", type=int, default=20)
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
            files = {"h5tolite dense (pruned)": dense, "h5tolite --sparse-weights": ours,
                     "TensorFlow mlir_sparsify, same weights": theirs}
            outputs, latencies = litert(files.values(), inputs, args.threads, args.repeats)
            reference = outputs[0]
            for (label, path), result, ms in zip(files.items(), outputs, latencies):
                data = path.read_bytes()
                measured = (f"{ms:.1f} | {np.abs(result - reference).max():.1e}" if ms is not None
                            else f"fails to load: {result} | -")
                rows.append(f"| {sparsity} | {label} | {len(data):,} | {len(gzip.compress(data, 9)):,} | {measured} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
