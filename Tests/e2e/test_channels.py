"""Channel pruning (--prune-channels F): every pruned golden model is an ordinary dense file that
LiteRT runs as the bundled interpreter does; on the trained CheXNet-shaped model 30% fewer
multiply-adds cost at most 0.01 mean AUROC; without calibration data it refuses."""
import json
import re

import numpy as np
import pytest

from conftest import GOLDEN, ROOT, golden_models, h5tolite
from test_convert import relative_error, run_litert
from test_interpreter import run_ours

TRAINED = GOLDEN / "chexnet_trained"
DATA = ROOT / "golden" / "data" / "chexnet"
# Models whose convolutions have channels the analysis may remove (the layer galleries'
# channels mostly reach outputs or reshapes, and some have no convolution at all).
CONVOLUTIONAL = ["chexnet_frozen", "chexnet_nested", "chexnet_trained", "mini_convnext", "mini_densenet",
                 "mini_efficientnet", "mini_inception", "mini_mobilenetv2", "mini_mobilenetv3", "unet"]


def calibration(model, tmp_path):
    """The model's own calibration samples, or 16 seeded standard-normal ones."""
    path = GOLDEN / model / "calibration.npy"
    if path.exists():
        return path
    shape = np.load(GOLDEN / model / "input.npy").shape[1:]
    path = tmp_path / "calibration.npy"
    np.save(path, np.random.RandomState(0).standard_normal((16, *shape)).astype(np.float32))
    return path


def model_file(model):
    return next(GOLDEN / model / name for name in ("keras3.h5", "tfkeras.h5", "model.keras") if (GOLDEN / model / name).exists())


def removed_share(stdout):
    """The share of multiply-adds slice-channels reports removed (0 when it removed none)."""
    found = re.search(r"slice-channels: multiply-adds (\d+) -> (\d+)", stdout)
    return 1 - int(found.group(2)) / int(found.group(1)) if found else 0.0


@pytest.mark.parametrize("model", golden_models())
def test_litert_runs_channel_pruned_files_as_the_interpreter_does(model, tmp_path):
    out = tmp_path / "pruned.tflite"
    result = h5tolite("convert", model_file(model), "-o", out, "--prune-channels", "0.3",
                      "--calibration", calibration(model, tmp_path))
    if model in CONVOLUTIONAL:
        assert removed_share(result.stdout) >= 0.3, result.stdout
    inputs = np.load(GOLDEN / model / "input.npy")
    assert relative_error(run_ours(out, inputs, tmp_path), run_litert(out, inputs)) <= 1e-5


@pytest.mark.parametrize("mode", ["none", "float16", "dynamic", "int8"])
def test_channel_pruning_combines_with_quantization_and_magnitude_pruning(mode, tmp_path):
    out = tmp_path / "pruned.tflite"
    dense = tmp_path / "dense.tflite"
    args = ["--quantize", mode, "--calibration", DATA / "calibration", "--preprocess", "torch", "--calibration-samples", "32"]
    h5tolite("convert", TRAINED / "keras3.h5", "-o", dense, *args)
    result = h5tolite("convert", TRAINED / "keras3.h5", "-o", out, "--prune-channels", "0.3", "--prune", "0.3", *args)
    assert removed_share(result.stdout) >= 0.3
    assert out.stat().st_size < dense.stat().st_size
    # The report times the same conversion without --prune-channels and the pruned model
    # (how much faster is the machine's business, not the test's).
    timing = re.search(r"bundled interpreter: ([0-9.]+) ms per image without --prune-channels, ([0-9.]+) ms with it", result.stdout)
    assert timing and float(timing.group(1)) > 0 and float(timing.group(2)) > 0, result.stdout
    inputs = np.load(TRAINED / "input.npy")
    ours = run_ours(out, inputs, tmp_path)
    assert ours.shape == (2, 14)
    if mode in ("none", "float16"):
        assert relative_error(ours, run_litert(out, inputs)) <= 1e-5
    else:
        assert run_litert(out, inputs).shape == (2, 14)


def test_channel_pruning_needs_calibration_data(tmp_path):
    out = tmp_path / "pruned.tflite"
    result = h5tolite("convert", TRAINED / "keras3.h5", "-o", out, "--prune-channels", "0.3", check=False)
    assert result.returncode != 0 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--calibration" in lines[0], result.stderr


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare_channels")
    h5tolite("compare", TRAINED / "keras3.h5", "--data", DATA / "test", "--labels", DATA / "test_labels.csv",
             "--preprocess", "torch", "--calibration", DATA / "calibration", "--out", out,
             "--variants", "float32,channels:0.3,channels:0.3:raw,channels:0.3+int8")
    assert "multiply-adds" in (out / "results.md").read_text().splitlines()[0]
    return {row["name"]: row for row in json.loads((out / "results.json").read_text())["rows"]}


def test_thirty_percent_fewer_multiply_adds_keep_the_auroc(results):
    original = results["original (Keras)"]
    for name in ("channels:0.3", "channels:0.3:raw", "channels:0.3+int8"):
        assert results[name]["multiplyAdds"] <= 0.7 * original["multiplyAdds"], name
    assert results["float32"]["multiplyAdds"] == original["multiplyAdds"]
    assert results["channels:0.3"]["metric"] >= original["metric"] - 0.01
    assert results["channels:0.3+int8"]["metric"] >= original["metric"] - 0.01
    # What the refit wins back: pruned as chosen, the same channels lose far more.
    assert results["channels:0.3:raw"]["metric"] < results["channels:0.3"]["metric"] - 0.05
    assert results["channels:0.3"]["bytes"] < 0.75 * results["float32"]["bytes"]
