#!/usr/bin/env python3
"""Makes corpora of damaged model files from golden files: truncations and byte flips.

    python3 scripts/mutate_corpus.py OUT_DIR [--count 100] [--seed 1]

Writes OUT_DIR/h5/, OUT_DIR/keras/ and OUT_DIR/tflite/, COUNT files each, deterministic for a
seed. Uses only the standard library, so the test suite and the fuzzing scripts can call it.
"""
import argparse
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = {
    "h5": ["golden/models/mini_densenet/keras3.h5", "golden/models/chexnet_nested/tfkeras.h5",
           "golden/models/layers_conv/tfkeras.h5"],
    "keras": ["golden/models/mini_densenet/model.keras", "golden/models/chexnet_nested/model.keras"],
    "tflite": ["golden/models/mini_mobilenetv2/tf.tflite", "golden/models/chexnet_nested/tf.tflite",
               "golden/models/chexnet_nested/tf_int8.tflite"],
}


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    kind = rng.choice(["truncate", "flip", "flip", "splice"])
    if kind == "truncate":
        return bytes(data[:rng.randrange(len(data))])
    if kind == "flip":
        for _ in range(rng.randint(1, 16)):
            position = rng.randrange(len(data))
            data[position] = rng.randrange(256)
        return bytes(data)
    # Overwrite a run with bytes from elsewhere in the file (plausible offsets and lengths).
    length = rng.randint(4, 64)
    source, target = rng.randrange(len(data) - length), rng.randrange(len(data) - length)
    data[target:target + length] = data[source:source + length]
    return bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for kind, sources in SOURCES.items():
        folder = args.out / kind
        folder.mkdir(parents=True, exist_ok=True)
        originals = [(ROOT / source).read_bytes() for source in sources]
        suffix = {"h5": ".h5", "keras": ".keras", "tflite": ".tflite"}[kind]
        for index in range(args.count):
            (folder / f"mutant{index:03d}{suffix}").write_bytes(mutate(rng.choice(originals), rng))


if __name__ == "__main__":
    main()
