"""Bad input: a one-line error naming the file (and layer), a non-zero exit, no output left."""
import shutil

import pytest

from conftest import BAD, GOLDEN, h5tolite

CASES = {
    "lambda_tfkeras.h5": "layer 'lambda'",
    "lambda_keras3.h5": "layer 'lambda'",
    "lambda.keras": "layer 'lambda'",
    "custom_layer_keras3.h5": "MyCustomScale",
    "custom_layer.keras": "MyCustomScale",
    "weights_only.weights.h5": "model_config",
    "weights_only_tfkeras.h5": "model_config",
    "shape_mismatch_tfkeras.h5": "layer 'conv'",
    "masked_attention.keras": "attention with 'attention_mask' is not supported",
}


def assert_clean_failure(source, expected, tmp_path):
    out = tmp_path / "out.tflite"
    result = h5tolite("convert", source, "-o", out, check=False)
    assert result.returncode != 0
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert str(source) in message and expected in message, message
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [] or all(p.name == source.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("name,expected", sorted(CASES.items()))
def test_bad_golden_files(name, expected, tmp_path):
    assert_clean_failure(BAD / name, expected, tmp_path)


def test_lambda_is_refused_not_run(tmp_path):
    result = h5tolite("convert", BAD / "lambda_keras3.h5", "-o", tmp_path / "x.tflite", check=False)
    assert "never executes" in result.stderr


def test_not_hdf5(tmp_path):
    source = tmp_path / "notes.h5"
    source.write_text("this is not a model\n")
    assert_clean_failure(source, "not an HDF5 file", tmp_path)


@pytest.mark.parametrize("length", [100, 2048, 20000])
def test_truncated(length, tmp_path):
    source = tmp_path / "truncated.h5"
    source.write_bytes((GOLDEN / "chexnet_nested" / "keras3.h5").read_bytes()[:length])
    assert_clean_failure(source, "", tmp_path)


def test_existing_output_survives_a_failure(tmp_path):
    out = tmp_path / "keep.tflite"
    out.write_bytes(b"previous")
    result = h5tolite("convert", BAD / "lambda.keras", "-o", out, check=False)
    assert result.returncode != 0
    assert out.read_bytes() == b"previous"
