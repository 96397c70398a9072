"""A model with two inputs and three outputs (golden/models/multi_io): every output in the file in
Keras's order, the serving_default signature named after the Keras inputs and outputs, LiteRT
within 1e-5 of Keras through that signature, `run` taking one array per input and writing one
file per output, and what still refuses several inputs doing so by count and name."""
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


@pytest.mark.parametrize("args", [["--verify"],
                                  ["--quantize", "int8", "--calibration", FOLDER / "calibration_image.npy"]])
def test_single_input_features_refuse_by_count(args, tmp_path):
    out = tmp_path / "m.tflite"
    result = h5tolite("convert", FOLDER / "keras3.h5", "-o", out, *args, check=False)
    assert result.returncode != 0 and "takes 2 inputs" in result.stderr
    assert not out.exists()


def test_run_refuses_too_few_arrays_by_input_name(tmp_path):
    out = tmp_path / "m.tflite"
    h5tolite("convert", FOLDER / "keras3.h5", "-o", out)
    result = h5tolite("run", out, "--input", FOLDER / "input_image.npy", "--output", tmp_path / "y.npy", check=False)
    assert result.returncode != 0 and "'image', 'clinical'" in result.stderr
