"""The bundled interpreter against LiteRT, on our files and on TensorFlow's own files."""
import re

import numpy as np
import pytest

from conftest import GOLDEN, HYBRID_TRANSPOSE_CONV, golden_cases, golden_models, h5tolite, tensorflow_refusal
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
    if refusal := tensorflow_refusal(model):
        pytest.skip(f"TensorFlow's converter refuses {model} ({refusal})")
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


def quantized_files():
    return [(model.name, variant) for model in sorted(GOLDEN.iterdir())
            for variant in ("float16", "dynamic", "int8")
            if (model / f"tf_{variant}.tflite").exists() and (model / "input.npy").exists()]  # multi_io: test_multi_io.py


def run_litert_reference(path, inputs):
    """LiteRT with TFLite's reference kernels: the arithmetic our integer kernels follow."""
    from ai_edge_litert.interpreter import OpResolverType
    return run_litert(path, inputs, OpResolverType.BUILTIN_REF)


@pytest.mark.parametrize("model,variant", quantized_files())
def test_interpreter_runs_tensorflow_quantized_files(model, variant, tmp_path):
    tf_file = GOLDEN / model / f"tf_{variant}.tflite"
    inputs = np.load(GOLDEN / model / "input.npy")
    if (model, variant) in HYBRID_TRANSPOSE_CONV:
        np.save(tmp_path / "x.npy", inputs)
        result = h5tolite("run", tf_file, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", check=False)
        assert result.returncode != 0 and "transpose_conv2d" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "y.npy").exists()
        return
    ours = run_ours(tf_file, inputs, tmp_path)
    if variant == "int8":
        # Output step 1/256 (a sigmoid or softmax head): at most one step from TFLite's reference kernels.
        assert np.abs(ours - run_litert_reference(tf_file, inputs)).max() <= 1 / 256 + 1e-7
    else:
        assert relative_error(ours, run_litert(tf_file, inputs)) <= 1e-4


@pytest.mark.parametrize("variant", ["float16", "dynamic", "int8"])
def test_interpreter_runs_our_quantized_files(variant, tmp_path):
    folder = GOLDEN / "chexnet_nested"
    out = tmp_path / "q.tflite"
    extra = ["--calibration", folder / "calibration.npy"] if variant == "int8" else []
    h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", variant, *extra)
    inputs = np.load(folder / "input.npy")
    ours = run_ours(out, inputs, tmp_path)
    if variant == "int8":
        assert np.abs(ours - run_litert_reference(out, inputs)).max() <= 1 / 256 + 1e-7
    else:
        assert relative_error(ours, run_litert(out, inputs)) <= 1e-4


# Models whose int8 file runs operation nodes, preprocessing layers and HARD_SWISH.
INT8_OPERATION_MODELS = ["mini_mobilenetv3", "mini_efficientnet", "layers_preprocessing", "layers_operations"]


@pytest.mark.parametrize("model", INT8_OPERATION_MODELS)
def test_interpreter_runs_our_int8_file_as_tflite_reference_kernels(model, tmp_path):
    folder = GOLDEN / model
    out = tmp_path / "int8.tflite"
    calibration = folder / "calibration.npy" if (folder / "calibration.npy").exists() else folder / "input.npy"
    h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", "int8", "--calibration", calibration)
    inputs = np.load(folder / "input.npy")
    ours = run_ours(out, inputs, tmp_path)
    # Integer arithmetic exactly as TFLite's reference kernels (a float softmax head may differ in the last bit).
    assert np.abs(ours - run_litert_reference(out, inputs)).max() <= 1e-6


def test_bench_profile_names_the_slowest_ops():
    """`bench --profile` lists time per kernel kind and the slowest ops by the values they compute."""
    model = GOLDEN / "mini_densenet" / "tf.tflite"
    result = h5tolite("bench", model, "--runs", "2", "--profile")
    lines = result.stdout.splitlines()
    assert "slowest ops:" in lines
    ops = lines[lines.index("slowest ops:") + 1:]
    assert 1 <= len(ops) <= 10
    times = [float(re.match(r"\s+([0-9.]+) ms  ", line).group(1)) for line in ops]
    assert times == sorted(times, reverse=True)
    assert all(re.search(r"\[1x[0-9x]+\] \(\w+Kernel(<\w+>)?\)$", line) for line in ops), ops
