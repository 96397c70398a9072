#!/usr/bin/env python3
"""What `--prune-channels` buys on the device: LiteRT's latency of channel-pruned files against the dense file.

Needs a full-size model of scripts/make_fullsize.py (default /work/fullsize/densenet121, with its
calibration.npy), a release build and a venv with ai-edge-litert (.test-venv). It converts the
dense float32 file and, for each fraction, `--prune-channels F` alone and with `--quantize int8`,
all with h5tolite; then it times every file in LiteRT (and in `h5tolite bench`), the files
interleaved in each of `--rounds` rounds so that all see the same machine load, and prints the
median milliseconds and the median of each round's ratio to the dense float32 file. The ratio
of one round is what to trust on a shared machine: the absolute times move with its load.

    .test-venv/bin/python scripts/channel_latency.py [--model densenet121] [--fractions 0.3]
        [--threads 2] [--rounds 9] [--out /tmp/channel_latency]
"""
import argparse
import pathlib
import statistics
import subprocess
import sys
import time

from interpreter_speed import h5tolite_ms, litert_ms

ROOT = pathlib.Path(__file__).resolve().parents[1]


def convert(binary, model_dir, out, options):
    if out.exists():
        return
    start = time.perf_counter()
    subprocess.run([binary, "convert", str(model_dir / "keras3.h5"), "-o", str(out), *options],
                   check=True, capture_output=True, text=True)
    print(f"converted {out.name} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="densenet121")
    parser.add_argument("--folder", default="/work/fullsize")
    parser.add_argument("--fractions", default="0.3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", default="/tmp/channel_latency", help="where the converted files go (reused if present)")
    parser.add_argument("--binary", default=str(ROOT / ".build/release/h5tolite"))
    args = parser.parse_args()
    model_dir = pathlib.Path(args.folder) / args.model
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    calibration = ["--calibration", str(model_dir / "calibration.npy")]
    files = {"dense float32": (out / "dense.tflite", [])}
    for fraction in args.fractions.split(","):
        files[f"channels {fraction}"] = (out / f"channels_{fraction}.tflite", ["--prune-channels", fraction, *calibration])
        files[f"channels {fraction} + int8"] = (out / f"channels_{fraction}_int8.tflite",
                                                ["--prune-channels", fraction, "--quantize", "int8", *calibration])
    for path, options in files.values():
        convert(args.binary, model_dir, path, options)
    litert = {name: [] for name in files}
    ours = {name: [] for name in files}
    for _ in range(args.rounds):
        for name, (path, _) in files.items():
            litert[name].append(litert_ms(path, args.threads, args.runs))
            ours[name].append(h5tolite_ms(args.binary, path, args.threads, args.runs, 1))
    print(f"{args.model}, {args.threads} threads, {args.rounds} rounds")
    print("| file | MB | LiteRT ms | LiteRT against dense | h5tolite ms | h5tolite against dense |")
    print("|---|---|---|---|---|---|")
    for name, (path, _) in files.items():
        ratio = [a / b for a, b in zip(litert[name], litert["dense float32"])]
        our_ratio = [a / b for a, b in zip(ours[name], ours["dense float32"])]
        print(f"| {name} | {path.stat().st_size / 1e6:.1f} | {statistics.median(litert[name]):.1f} | "
              f"{statistics.median(ratio):.2f}x | {statistics.median(ours[name]):.1f} | {statistics.median(our_ratio):.2f}x |")


if __name__ == "__main__":
    main()
