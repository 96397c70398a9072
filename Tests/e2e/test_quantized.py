"""float16, dynamic-range and int8 files: LiteRT runs them, and they are no larger and no
less accurate than the files TensorFlow's converter wrote for the same models and the same
calibration data (golden/models/*/tf_<mode>.tflite)."""
import numpy as np
import pytest

from conftest import GOLDEN, HYBRID_TRANSPOSE_CONV, h5tolite
from test_convert import run_litert

MODES = ["float16", "dynamic", "int8"]


def quantized_cases():
    return [(model.name, mode) for model in sorted(GOLDEN.iterdir()) for mode in MODES
            if (model / f"tf_{mode}.tflite").exists() and (model / "calibration.npy").exists()]


def convert(model, mode, out, *extra):
    folder = GOLDEN / model
    args = ["convert", folder / "keras3.h5", "-o", out, "--quantize", mode, *extra]
    if mode == "int8":
        args += ["--calibration", folder / "calibration.npy"]
    return h5tolite(*args)


@pytest.mark.parametrize("model,mode", quantized_cases())
def test_no_larger_and_no_less_accurate_than_tensorflow(model, mode, tmp_path):
    folder = GOLDEN / model
    ours = tmp_path / "ours.tflite"
    reference = tmp_path / "float32.tflite"
    convert(model, mode, ours)
    h5tolite("convert", folder / "keras3.h5", "-o", reference)
    theirs = folder / f"tf_{mode}.tflite"
    if (model, mode) in HYBRID_TRANSPOSE_CONV:
        assert ours.stat().st_size <= reference.stat().st_size
    else:
        assert ours.stat().st_size <= theirs.stat().st_size
    # Evaluate on more than the two golden inputs: the float32 file stands in for Keras
    # (the float tests hold it within 1e-5 of Keras).
    samples = np.concatenate([np.load(folder / "input.npy"), np.load(folder / "calibration.npy")])
    expected = run_litert(reference, samples)
    our_error = np.abs(run_litert(ours, samples) - expected).mean()
    their_error = np.abs(run_litert(theirs, samples) - expected).mean()
    assert our_error <= 1.25 * their_error + 1e-5, f"ours {our_error:.3g}, TensorFlow's {their_error:.3g}"


def test_int8_io_takes_and_gives_int8(tmp_path):
    out = tmp_path / "io.tflite"
    convert("chexnet_nested", "int8", out, "--io", "int8")
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(out))
    interpreter.allocate_tensors()
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inp["dtype"] == np.int8 and outp["dtype"] == np.int8
    # LOGISTIC's output parameters are fixed by TFLite.
    assert outp["quantization"] == (pytest.approx(1 / 256), -128)


def test_keep_float_leaves_a_layer_in_float32(tmp_path):
    out = tmp_path / "kept.tflite"
    result = convert("chexnet_nested", "int8", out, "--keep-float", "dense")
    assert "kept in float32: dense" in result.stdout
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(out))
    dense = [t for t in interpreter.get_tensor_details() if t["name"] == "dense/kernel"]
    assert dense and dense[0]["dtype"] == np.float32


def test_int8_without_calibration_is_refused(tmp_path):
    result = h5tolite("convert", GOLDEN / "chexnet_nested" / "keras3.h5", "-o", tmp_path / "x.tflite",
                      "--quantize", "int8", check=False)
    assert result.returncode != 0 and "--calibration" in result.stderr
    assert not (tmp_path / "x.tflite").exists()


def all_model_modes():
    return [(model.name, mode) for model in sorted(GOLDEN.iterdir())
            if (model / "keras3.h5").exists() and (model / "input.npy").exists()  # multi_io: test_multi_io.py
            for mode in MODES]


@pytest.mark.parametrize("model,mode", all_model_modes())
def test_every_golden_model_in_every_mode_runs_in_litert(model, mode, tmp_path):
    folder = GOLDEN / model
    out = tmp_path / "m.tflite"
    inputs = np.load(folder / "input.npy")
    calibration = folder / "calibration.npy" if (folder / "calibration.npy").exists() else folder / "input.npy"
    extra = ["--calibration", calibration] if mode == "int8" else []
    h5tolite("convert", folder / "keras3.h5", "-o", out, "--quantize", mode, *extra)
    outputs = run_litert(out, inputs)
    expected = np.load(folder / "output_keras3.npy")
    assert outputs.shape == expected.shape and np.isfinite(outputs).all()
    # Loose sanity bound: quantized outputs stay near Keras's (the accuracy tests are above).
    assert np.abs(outputs - expected).max() <= 0.1 * max(1.0, np.abs(expected).max())


def test_bias_correction_runs_and_changes_biases(tmp_path):
    folder = GOLDEN / "mini_mobilenetv2"
    plain, corrected = tmp_path / "plain.tflite", tmp_path / "corrected.tflite"
    convert("mini_mobilenetv2", "int8", plain)
    result = convert("mini_mobilenetv2", "int8", corrected, "--bias-correction")
    assert "bias correction on" in result.stdout
    inputs = np.load(folder / "input.npy")
    assert np.isfinite(run_litert(corrected, inputs)).all()
    assert plain.read_bytes() != corrected.read_bytes()


def prelu_operands(path):
    """Each int8 PRELU's alpha constant in the file: (raw values, scale, zero point)."""
    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    operands = []
    for op in interpreter._get_ops_details():
        if op["op_name"] == "PRELU":
            data, alpha = (tensors[i] for i in op["inputs"])
            assert data["dtype"] == np.int8 and alpha["dtype"] == np.int8
            operands.append((interpreter.get_tensor(alpha["index"]), *alpha["quantization"]))
    return operands


def test_prelu_alpha_is_quantized_as_tensorflow_does(tmp_path):
    out = tmp_path / "prelu.tflite"
    convert("layers_prelu", "int8", out)
    ours, theirs = prelu_operands(out), prelu_operands(GOLDEN / "layers_prelu" / "tf_int8.tflite")
    assert len(ours) == len(theirs) == 2
    for (our_values, our_scale, our_zero), (values, scale, zero) in zip(ours, theirs):
        assert our_zero == zero == 0 and our_scale == pytest.approx(scale, rel=1e-6)
        np.testing.assert_array_equal(our_values, values)
