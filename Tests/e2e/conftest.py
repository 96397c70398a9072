"""Shared fixtures for the end-to-end tests: the built h5tolite binary and golden files."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "golden" / "models"
BAD = ROOT / "golden" / "bad"
FORMATS = {"tfkeras.h5": "output_tfkeras.npy", "keras3.h5": "output_keras3.npy", "model.keras": "output_keras3.npy"}
# Variants with one BatchNormalization frozen inside a trainable nested model: its weights
# move to the non-trainable part of the legacy weight list.
VARIANTS = {"tfkeras_bn_frozen.h5": "output_tfkeras.npy", "keras3_bn_frozen.h5": "output_keras3.npy",
            "model_bn_frozen.keras": "output_keras3.npy"}
EXPECTED = {**FORMATS, **VARIANTS}


def binary() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("H5TOLITE", ROOT / ".build" / "debug" / "h5tolite"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: build first (swift build)")
    return path


def h5tolite(*args, check=True):
    result = subprocess.run([str(binary()), *map(str, args)], capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        pytest.fail(f"h5tolite {' '.join(map(str, args))} failed: {result.stderr.strip()}")
    return result


# Known gaps, named so they stay visible: TensorFlow's dynamic-range U-Net has a hybrid
# TRANSPOSE_CONV (int8 weights, float input). LiteRT quantizes that op's input in a way the
# bundled interpreter does not reproduce yet, so h5tolite keeps transposed convolutions float in
# --quantize dynamic (a larger file than TensorFlow's) and refuses to run TensorFlow's by name.
HYBRID_TRANSPOSE_CONV = {("unet", "dynamic")}


def tensorflow_refusal(model):
    """Why TensorFlow's converter wrote no tf.tflite for a golden model (3D pooling needs Flex
    ops), as golden/generate.py recorded it; None when it wrote one."""
    info = GOLDEN / model / "info.json"
    return json.loads(info.read_text()).get("tf_refusal") if info.exists() else None


def golden_models():
    return sorted(p.name for p in GOLDEN.iterdir() if (p / "input.npy").exists())


def golden_cases():
    return [(model, fmt) for model in golden_models() for fmt in EXPECTED if (GOLDEN / model / fmt).exists()]
