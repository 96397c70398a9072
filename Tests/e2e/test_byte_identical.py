"""Every golden model in every mode gives the same .tflite bytes as the digests recorded in
golden/tflite_sha256.json: refactorings of the compiler must not change what it writes.

A change that is meant to change the files rewrites the digests with
H5TOLITE_UPDATE_GOLDEN=1 (then read the diff and say why in the commit)."""
import hashlib
import json
import os

import pytest

from conftest import GOLDEN, ROOT, golden_models, h5tolite

DIGESTS = ROOT / "golden" / "tflite_sha256.json"
DATA = ROOT / "golden" / "data" / "chexnet"
UPDATE = os.environ.get("H5TOLITE_UPDATE_GOLDEN") == "1"

# Mode name -> convert flags; {cal} is the model's calibration array.
MODES = {
    "float32": [],
    "float16": ["--quantize", "float16"],
    "dynamic": ["--quantize", "dynamic"],
    "int8": ["--quantize", "int8", "--calibration", "{cal}"],
    "int8-io-int8": ["--quantize", "int8", "--calibration", "{cal}", "--io", "int8"],
    "int8-io-uint8": ["--quantize", "int8", "--calibration", "{cal}", "--io", "uint8"],
    "int8-bias-correction": ["--quantize", "int8", "--calibration", "{cal}", "--bias-correction"],
    "prune": ["--prune", "0.5"],
    "prune-global-ends": ["--prune", "0.5", "--prune-scope", "global", "--prune-ends"],
    "prune-refit": ["--prune", "0.5", "--calibration", "{cal}"],
    "prune-batchnorm": ["--prune", "0.5", "--calibration", "{cal}", "--prune-recovery", "batchnorm"],
    "prune-refit-int8": ["--prune", "0.5", "--calibration", "{cal}", "--quantize", "int8"],
}

# The accuracy-aware search on the trained model, the one golden model with labelled data.
MAX_DROP = ["--quantize", "int8", "--calibration", DATA / "calibration", "--preprocess", "torch",
            "--max-drop", "0.002", "--data", DATA / "test_noisy", "--labels", DATA / "test_noisy_labels.csv"]


def source(model):
    folder = GOLDEN / model
    return folder / "keras3.h5" if (folder / "keras3.h5").exists() else folder / "tfkeras.h5"


def calibration(model):
    folder = GOLDEN / model
    return folder / "calibration.npy" if (folder / "calibration.npy").exists() else folder / "input.npy"


def cases():
    return [(model, mode) for model in golden_models() for mode in MODES] + [("chexnet_trained", "int8-max-drop")]


def digest(model, mode, tmp_path):
    out = tmp_path / f"{model}-{mode}.tflite"
    flags = MAX_DROP if mode == "int8-max-drop" else [str(calibration(model)) if f == "{cal}" else f for f in MODES[mode]]
    h5tolite("convert", source(model), "-o", out, *flags)
    return hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def recorded():
    return json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}


@pytest.mark.parametrize("model,mode", cases())
def test_written_file_is_byte_identical(model, mode, recorded, tmp_path):
    actual = digest(model, mode, tmp_path)
    key = f"{model}/{mode}"
    if UPDATE:
        recorded[key] = actual
        DIGESTS.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")
    assert recorded.get(key) == actual, f"{key}: the written file changed"
