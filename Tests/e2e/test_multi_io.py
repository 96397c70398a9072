"""A model with two inputs and three outputs (golden/models/multi_io): every output in the file in
Keras's order, the serving_default signature named after the Keras inputs and outputs, LiteRT
within 1e-5 of Keras through that signature, `run`, `--verify`, `--quantize int8` calibration,
`--max-drop` and `compare` taking one array per input (comma-separated, in the model's input
order) and covering every output, and bad sample lists refused in one line naming the file and
the input."""
import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from conftest import FORMATS, GOLDEN, h5tolite
from test_convert import relative_error

FOLDER = GOLDEN / "multi_io"
INFO = json.loads((FOLDER / "info.json").read_text())
INPUTS = list(INFO["inputs"])
OUTPUTS = INFO["keras_output_order"]


def inputs():
    return {name: np.load(FOLDER / f"input_{name}.npy") for name in INPUTS}


def expected(fmt):
    framework = "tfkeras" if fmt.startswith("tfkeras") else "keras3"
    return {name: np.load(FOLDER / f"output_{framework}_{name}.npy") for name in OUTPUTS}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_litert_matches_keras_through_the_signature(fmt, tmp_path):
    out = tmp_path / "m.tflite"
    h5tolite("convert", FOLDER / fmt, "-o", out)
    interpreter = Interpreter(model_path=str(out))
    assert interpreter.get_signature_list()["serving_default"] == {"inputs": sorted(INPUTS), "outputs": sorted(OUTPUTS)}
    assert [d["name"] for d in interpreter.get_input_details()] == INPUTS
    assert [d["name"] for d in interpreter.get_output_details()] == OUTPUTS
    runner = interpreter.get_signature_runner("serving_default")
    x = inputs()
    results = [runner(**{name: x[name][i:i + 1] for name in INPUTS}) for i in range(2)]
    for name, keras_output in expected(fmt).items():
        actual = np.concatenate([r[name] for r in results])
        assert actual.shape == keras_output.shape
        assert relative_error(actual, keras_output) <= 1e-5, name


def test_run_takes_one_array_per_input_and_writes_one_file_per_output(tmp_path):
    out = tmp_path / "m.tflite"
    h5tolite("convert", FOLDER / "keras3.h5", "-o", out)
    arguments = ",".join(str(FOLDER / f"input_{name}.npy") for name in INPUTS)
    h5tolite("run", out, "--input", arguments, "--output", tmp_path / "outputs")
    for name, keras_output in expected("keras3.h5").items():
        assert relative_error(np.load(tmp_path / "outputs" / f"{name}.npy"), keras_output) <= 1e-5, name
    # TensorFlow's own file, whose inputs come in another order (clinical, image).
    tf_order = [d["name"].removeprefix("serving_default_").removesuffix(":0")
                for d in Interpreter(model_path=str(FOLDER / "tf.tflite")).get_input_details()]
    arguments = ",".join(str(FOLDER / f"input_{name}.npy") for name in tf_order)
    h5tolite("run", FOLDER / "tf.tflite", "--input", arguments, "--output", tmp_path / "tf")
    assert len(list((tmp_path / "tf").glob("*.npy"))) == 3


def arrays(prefix):
    """One file per input, comma-separated in the model's input order: what the commands take."""
    return ",".join(str(FOLDER / f"{prefix}_{name}.npy") for name in INPUTS)


def run_signature(path, x):
    """LiteRT through serving_default, one sample at a time; outputs in Keras's order (TensorFlow
    names a Keras 3 model's outputs output_0, output_1, ... in that order)."""
    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    results = [runner(**{name: x[name][i:i + 1] for name in INPUTS}) for i in range(len(x[INPUTS[0]]))]
    keys = OUTPUTS if OUTPUTS[0] in results[0] else [f"output_{i}" for i in range(len(OUTPUTS))]
    return [np.concatenate([r[key] for r in results]) for key in keys]


def evaluation_samples():
    """The two golden inputs and the 32 calibration samples of each input."""
    calibration = {name: np.load(FOLDER / f"calibration_{name}.npy") for name in INPUTS}
    return {name: np.concatenate([inputs()[name], calibration[name]]) for name in INPUTS}


def test_int8_calibrated_on_every_input_is_no_worse_than_tensorflows(tmp_path):
    ours, reference = tmp_path / "int8.tflite", tmp_path / "float32.tflite"
    h5tolite("convert", FOLDER / "keras3.h5", "-o", ours, "--quantize", "int8", "--calibration", arrays("calibration"))
    h5tolite("convert", FOLDER / "keras3.h5", "-o", reference)
    theirs = FOLDER / "tf_int8.tflite"
    assert ours.stat().st_size <= theirs.stat().st_size
    # On Keras's own inputs: each output as close to Keras as TensorFlow's int8 file is (both
    # files' worst box value lands on the same int8 step: equal up to float rounding).
    for name, actual in zip(OUTPUTS, run_signature(ours, inputs())):
        error = np.max(np.abs(actual - expected("keras3.h5")[name]))
        assert error <= INFO[f"max_abs_diff_tf_int8_{name}_vs_keras3"] * (1 + 1e-4), name
    # On every sample at hand, the float32 file standing in for Keras (held within 1e-5 of it
    # above), with test_quantized.py's allowance.
    x = evaluation_samples()
    for name, ref, mine, tf in zip(OUTPUTS, run_signature(reference, x), run_signature(ours, x), run_signature(theirs, x)):
        our_error, their_error = np.abs(mine - ref).mean(), np.abs(tf - ref).mean()
        assert our_error <= 1.25 * their_error + 1e-5, f"{name}: ours {our_error:.3g}, TensorFlow's {their_error:.3g}"


def test_verify_reports_every_output(tmp_path):
    result = h5tolite("convert", FOLDER / "keras3.h5", "-o", tmp_path / "m.tflite", "--verify")
    lines = [line for line in result.stdout.splitlines() if line.startswith("verify: ")]
    assert [line.split(":")[1].strip() for line in lines] == [f"output '{name}'" for name in OUTPUTS]
    assert all("8 samples" in line for line in lines)
    result = h5tolite("convert", FOLDER / "keras3.h5", "-o", tmp_path / "q.tflite", "--quantize", "int8",
                      "--calibration", arrays("calibration"), "--verify", "--verify-data", arrays("input"))
    lines = [line for line in result.stdout.splitlines() if line.startswith("verify: ")]
    assert len(lines) == 3 and all("2 samples" in line for line in lines)
    table = result.stdout.split("per-layer error against float32")[1]
    for layer in ["stem", "clinical_dense", "box"]:
        assert f"| {layer} |" in table


def labels(tmp_path, output):
    """One-hot labels on the evaluation samples: the class TensorFlow's own float32 file, run in
    LiteRT, ranks first in `output` (TensorFlow's file is within 3e-7 of Keras)."""
    scores = run_signature(FOLDER / "tf.tflite", evaluation_samples())[OUTPUTS.index(output)]
    one_hot = np.eye(scores.shape[1], dtype=np.float32)[scores.argmax(axis=1)]
    path = tmp_path / f"labels_{output}.npy"
    np.save(path, one_hot)
    for name, x in evaluation_samples().items():
        np.save(tmp_path / f"data_{name}.npy", x)
    return path, ",".join(str(tmp_path / f"data_{name}.npy") for name in INPUTS)


def test_compare_scores_the_labelled_output_and_every_outputs_error(tmp_path):
    label_file, data = labels(tmp_path, "findings")
    out = tmp_path / "compare"
    h5tolite("compare", FOLDER / "keras3.h5", "--data", data, "--labels", label_file, "--metric", "accuracy",
             "--calibration", arrays("calibration"), "--variants", "float32,int8", "--out", out)
    report = json.loads((out / "results.json").read_text())
    assert report["outputs"] == OUTPUTS and report["labelledOutput"] == "findings" and report["samples"] == 34
    rows = {row["name"]: row for row in report["rows"]}
    assert rows["original (Keras)"]["metric"] == 1.0 and rows["float32"]["metric"] == 1.0
    assert all(error <= 1e-6 for error in rows["float32"]["outputErrors"])
    # int8 ranks the findings as TensorFlow's int8 file does, give or take one sample.
    tf_int8 = run_signature(FOLDER / "tf_int8.tflite", evaluation_samples())[0].argmax(axis=1)
    tf_accuracy = np.mean(tf_int8 == np.load(label_file).argmax(axis=1))
    assert rows["int8"]["metric"] >= tf_accuracy - 1 / 34
    assert "| accuracy of findings |" in (out / "results.md").read_text()
    # Labels of another output, named.
    label_file, data = labels(tmp_path, "box")
    h5tolite("compare", FOLDER / "keras3.h5", "--data", data, "--labels", label_file, "--labelled-output", "box",
             "--variants", "float32", "--out", tmp_path / "box")
    report = json.loads((tmp_path / "box" / "results.json").read_text())
    assert report["labelledOutput"] == "box" and report["rows"][0]["metric"] == 1.0


def test_max_drop_measures_on_every_input(tmp_path):
    label_file, data = labels(tmp_path, "findings")
    result = h5tolite("convert", FOLDER / "keras3.h5", "-o", tmp_path / "m.tflite", "--quantize", "int8",
                      "--calibration", arrays("calibration"), "--max-drop", "0", "--data", data, "--labels", label_file,
                      "--metric", "accuracy")
    assert "max-drop: accuracy 1.0000 as float32" in result.stdout
    assert "max-drop: kept in float32:" in result.stdout
    Interpreter(model_path=str(tmp_path / "m.tflite")).allocate_tensors()


def bad_sample_lists():
    image, clinical = (str(FOLDER / f"calibration_{name}.npy") for name in INPUTS)
    folder = str(GOLDEN.parent / "data" / "chexnet" / "calibration")
    return {
        "one array": (image, image, "the model takes 2 inputs ('image', 'clinical'): one array per input"),
        "swapped": (f"{clinical},{image}", clinical, "samples shaped [32, 4], input 'image' takes [N, 32, 32, 1]"),
        "counts": (f"{FOLDER / 'input_image.npy'},{clinical}", clinical, "32 samples for input 'clinical', but"),
        "folder": (f"{folder},{clinical}", folder, "a folder of images feeds a model with one image input"),
    }


@pytest.mark.parametrize("case", list(bad_sample_lists()))
@pytest.mark.parametrize("flag", ["--calibration", "--verify-data", "compare --data"])
def test_bad_sample_lists_name_the_file_and_the_input(case, flag, tmp_path):
    given, culprit, message = bad_sample_lists()[case]
    out = tmp_path / "m.tflite"
    if flag == "compare --data":
        args = ["compare", FOLDER / "keras3.h5", "--data", given, "--labels", FOLDER / "output_keras3_findings.npy",
                "--out", tmp_path / "compare"]
    elif flag == "--calibration":
        args = ["convert", FOLDER / "keras3.h5", "-o", out, "--quantize", "int8", "--calibration", given]
    else:
        args = ["convert", FOLDER / "keras3.h5", "-o", out, "--verify", "--verify-data", given]
    result = h5tolite(*args, "--preprocess", "torch", check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"Error: {culprit}: ") and message in result.stderr, result.stderr
    assert not out.exists()


def test_run_refuses_too_few_arrays_by_input_name(tmp_path):
    out = tmp_path / "m.tflite"
    h5tolite("convert", FOLDER / "keras3.h5", "-o", out)
    result = h5tolite("run", out, "--input", FOLDER / "input_image.npy", "--output", tmp_path / "y.npy", check=False)
    assert result.returncode != 0 and "'image', 'clinical'" in result.stderr
