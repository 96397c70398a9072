"""--calibration-method mse: int8 files that LiteRT's reference kernels run exactly as the
bundled interpreter does, and logits no further from float than min/max calibration's on the
golden models where the README claims so (held-out samples, scripts/calibration_error.py)."""
import sys

import numpy as np
import pytest

from conftest import GOLDEN, ROOT, binary, h5tolite
from test_interpreter import run_litert_reference, run_ours

sys.path.insert(0, str(ROOT / "scripts"))
from calibration_error import measure  # noqa: E402

# Where the README's table shows mse ahead of min/max.
BETTER = ["mini_densenet", "mini_efficientnet", "mini_inception", "mini_mobilenetv2", "layers_group_norm"]


@pytest.mark.parametrize("model", BETTER)
def test_mse_logits_are_closer_to_float_than_minmax(model, tmp_path):
    errors = measure(str(binary()), model, ["minmax", "mse"], tmp_path)
    assert errors["mse"] < errors["minmax"], errors


@pytest.mark.parametrize("model", ["mini_densenet", "mini_mobilenetv3", "mini_efficientnet"])
def test_mse_file_runs_as_tflite_reference_kernels(model, tmp_path):
    folder = GOLDEN / model
    out = tmp_path / "mse.tflite"
    result = h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", "int8",
                      "--calibration", folder / "calibration.npy", "--calibration-method", "mse")
    assert "ranges chosen by squared error" in result.stdout
    inputs = np.load(folder / "input.npy")
    # Integer arithmetic exactly as TFLite's reference kernels (a float softmax head may differ in the last bit).
    assert np.abs(run_ours(out, inputs, tmp_path) - run_litert_reference(out, inputs)).max() <= 1e-6


def test_mse_clips_ranges_and_minmax_stays_the_default(tmp_path):
    folder = GOLDEN / "mini_densenet"
    files = {}
    for name, extra in [("default", []), ("minmax", ["--calibration-method", "minmax"]),
                        ("mse", ["--calibration-method", "mse"])]:
        files[name] = tmp_path / f"{name}.tflite"
        h5tolite("convert", folder / "keras3.h5", "-o", files[name], "--quantize", "int8",
                 "--calibration", folder / "calibration.npy", *extra)
    assert files["default"].read_bytes() == files["minmax"].read_bytes()
    assert files["mse"].read_bytes() != files["minmax"].read_bytes()


def test_unknown_calibration_method_is_refused(tmp_path):
    folder = GOLDEN / "mini_densenet"
    result = h5tolite("convert", folder / "keras3.h5", "-o", tmp_path / "x.tflite", "--quantize", "int8",
                      "--calibration", folder / "calibration.npy", "--calibration-method", "median", check=False)
    assert result.returncode != 0 and "calibration-method" in result.stderr
    assert not (tmp_path / "x.tflite").exists()
