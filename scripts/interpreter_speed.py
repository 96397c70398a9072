#!/usr/bin/env python3
"""The bundled interpreter's speed against LiteRT's, on the same files and threads in the same run.

Needs the full-size models of scripts/make_fullsize.py (`--quantized` for the int8 files), a
release build (`swift build -c release`) and a venv with ai-edge-litert (.test-venv). For each
model and file it times LiteRT (default delegate, XNNPACK) and `h5tolite bench`, interleaved
`--rounds` times so that both see the same machine load, and prints the median milliseconds per
sample and their ratio as a Markdown table. With `--batch N` h5tolite also runs batches of N
samples (spread over the threads) and the table gains their throughput against one at a time.

    .test-venv/bin/python scripts/interpreter_speed.py [--models densenet121,inceptionv3,mobilenetv2]
        [--files tf_float32,tf_int8] [--threads 2] [--batch 16]
"""
import argparse
import pathlib
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


LITERT_TIMING = """
import statistics, sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter
path, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
interpreter = Interpreter(model_path=path, num_threads=threads)
interpreter.allocate_tensors()
rng = np.random.default_rng(0)
for detail in interpreter.get_input_details():
    interpreter.set_tensor(detail["index"], rng.standard_normal(detail["shape"]).astype(detail["dtype"]))
warm_up_end = time.perf_counter() + 0.3
interpreter.invoke()
while time.perf_counter() < warm_up_end:
    interpreter.invoke()
times = []
for _ in range(runs):
    start = time.perf_counter()
    interpreter.invoke()
    times.append((time.perf_counter() - start) * 1000)
print(statistics.median(times))
"""


def litert_ms(path, threads, runs):
    """LiteRT's median milliseconds, in a process of its own as h5tolite's are: a runtime whose
    thread pool lingers in this process would take cores from the next measurement."""
    result = subprocess.run([sys.executable, "-c", LITERT_TIMING, str(path), str(threads), str(runs)],
                            check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def h5tolite_ms(binary, path, threads, runs, batch):
    result = subprocess.run([binary, "bench", str(path), "--threads", str(threads), "--runs", str(runs),
                             "--batch", str(batch)], check=True, capture_output=True, text=True)
    return float(re.search(r": ([0-9.]+) ms per sample", result.stdout).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="densenet121,inceptionv3,mobilenetv2")
    parser.add_argument("--files", default="tf_float32,tf_int8")
    parser.add_argument("--folder", default="/work/fullsize")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/h5tolite"))
    args = parser.parse_args()
    header = "| model | file | LiteRT ms | h5tolite ms | ratio |"
    if args.batch:
        header += f" batch {args.batch} ms/sample | batch speed-up |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for model in args.models.split(","):
        for name in args.files.split(","):
            path = pathlib.Path(args.folder) / model / f"{name}.tflite"
            if not path.exists():
                print(f"| {model} | {name} | missing | | |")
                continue
            ours, theirs, batched = [], [], []
            for _ in range(args.rounds):
                theirs.append(litert_ms(path, args.threads, args.runs))
                ours.append(h5tolite_ms(args.binary, path, args.threads, args.runs, 1))
                if args.batch:
                    batched.append(h5tolite_ms(args.binary, path, args.threads, max(2, args.runs // 4), args.batch))
            row = f"| {model} | {name} | {statistics.median(theirs):.1f} | {statistics.median(ours):.1f} | " \
                  f"{statistics.median(ours) / statistics.median(theirs):.2f}x |"
            if args.batch:
                row += f" {statistics.median(batched):.1f} | {statistics.median(ours) / statistics.median(batched):.2f}x |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
