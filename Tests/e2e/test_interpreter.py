"""The bundled interpreter against LiteRT, on our files and on TensorFlow's own files."""
import numpy as np
import pytest

from conftest import GOLDEN, golden_cases, golden_models, h5tolite
from test_convert import relative_error, run_litert

TOLERANCE = 1e-5


def run_ours(model, inputs, tmp_path):
    x = tmp_path / "x.npy"
    y = tmp_path / "y.npy"
    np.save(x, inputs)
    h5tolite("run", model, "--input", x, "--output", y)
    return np.load(y)


@pytest.mark.parametrize("model,fmt", golden_cases())
def test_interpreter_matches_litert_on_our_file(model, fmt, tmp_path):
    out = tmp_path / "model.tflite"
    h5tolite("convert", GOLDEN / model / fmt, "-o", out)
    inputs = np.load(GOLDEN / model / "input.npy")
    assert relative_error(run_ours(out, inputs, tmp_path), run_litert(out, inputs)) <= TOLERANCE


@pytest.mark.parametrize("model", golden_models())
def test_interpreter_matches_litert_on_tensorflow_file(model, tmp_path):
    tf_file = GOLDEN / model / "tf.tflite"
    inputs = np.load(GOLDEN / model / "input.npy")
    assert relative_error(run_ours(tf_file, inputs, tmp_path), run_litert(tf_file, inputs)) <= TOLERANCE


@pytest.mark.parametrize("model", golden_models())
def test_verify_reports_agreement(model, tmp_path):
    folder = GOLDEN / model
    source = next(folder / f for f in ("keras3.h5", "tfkeras.h5") if (folder / f).exists())
    result = h5tolite("convert", source, "-o", tmp_path / "m.tflite", "--verify", "--verify-data", folder / "input.npy")
    line = next(line for line in result.stdout.splitlines() if line.startswith("verify:"))
    assert "top-1 agreement 100.0%" in line


def test_verify_fails_beyond_tolerance(tmp_path):
    result = h5tolite("convert", GOLDEN / "chexnet_nested" / "keras3.h5", "-o", tmp_path / "m.tflite",
                      "--prune", "0.6", "--verify", "--tolerance", "1e-6", check=False)
    assert result.returncode != 0
    assert "exceeds the tolerance" in result.stderr
    assert not (tmp_path / "m.tflite").exists()


def test_run_rejects_a_wrong_input_shape(tmp_path):
    out = tmp_path / "model.tflite"
    h5tolite("convert", GOLDEN / "chexnet_nested" / "keras3.h5", "-o", out)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 8, 8, 3), np.float32))
    result = h5tolite("run", out, "--input", x, "--output", tmp_path / "y.npy", check=False)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "y.npy").exists()
