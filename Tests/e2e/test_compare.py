"""`h5tolite compare` on the trained CheXNet-shaped model and its labelled PNG test set:
the AUROC values are the ones scikit-learn computed on Keras's and TensorFlow's outputs
(golden/models/chexnet_trained/info.json), and pruning with BatchNorm re-estimation gives
the numbers the reference experiment measured."""
import json

import pytest

from conftest import GOLDEN, ROOT, h5tolite

MODEL = GOLDEN / "chexnet_trained"
DATA = ROOT / "golden" / "data" / "chexnet"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    h5tolite("compare", MODEL / "keras3.h5", "--data", DATA / "test", "--labels", DATA / "test_labels.csv",
             "--preprocess", "torch", "--calibration", DATA / "calibration", "--out", out,
             "--variants", "float32,float16,dynamic,int8,prune:0.5,prune:0.5:raw,prune:0.5+int8,"
                           "int8+int8-head,int8+bias-correction")
    report = json.loads((out / "results.json").read_text())
    assert (out / "results.md").read_text().startswith("| variant |")
    assert (out / "chart.svg").read_text().startswith("<svg")
    assert (out / "int8.tflite").exists()
    return {row["name"]: row for row in report["rows"]}


def info():
    return json.loads((MODEL / "info.json").read_text())


def test_original_and_float32_give_keras_auroc(results):
    keras = info()["metrics"]["keras3"]["test"]
    for name in ("original (Keras)", "float32"):
        assert results[name]["metric"] == pytest.approx(keras["mean"], abs=1e-4)
    findings = list(keras["per_finding"].values())
    assert results["float32"]["perClassAUROC"] == pytest.approx(findings, abs=1e-4)


@pytest.mark.parametrize("variant", ["float16", "dynamic", "int8"])
def test_quantized_variants_match_tensorflow(variant, results):
    tf = info()["metrics"][f"tf_{variant}"]
    # No larger than TensorFlow's file, and no more than 0.001 less AUROC.
    assert results[variant]["bytes"] <= tf["bytes"]
    assert results[variant]["metric"] >= tf["test"]["mean"] - 1e-3
    # The trained classifier keeps its accuracy: at most 0.005 mean AUROC lost.
    assert results[variant]["metric"] >= results["original (Keras)"]["metric"] - 0.005


def test_batchnorm_reestimation_reproduces_the_reference_experiment(results):
    reference = info()["pruning_experiment"]["results"]["0.5"]
    assert results["prune:0.5:raw"]["metric"] == pytest.approx(reference["mean_auroc_test"], abs=2e-3)
    assert results["prune:0.5"]["metric"] == pytest.approx(reference["mean_auroc_test_bn_reestimated"], abs=2e-3)
    assert results["prune:0.5"]["metric"] > results["prune:0.5:raw"]["metric"] + 0.05
    # Pruned weights are zeros: the compressed file shrinks.
    assert results["prune:0.5"]["gzipBytes"] < 0.75 * results["float32"]["gzipBytes"]


def test_dicom_images_read_like_their_pngs(tmp_path):
    """The same test images as DICOM (MONOCHROME1/2, rescale, window) give the same outputs."""
    dicom = tmp_path / "dicom"
    png = tmp_path / "png"
    for folder, data, labels in ((dicom, DATA / "dicom", DATA / "dicom_labels.csv"),):
        h5tolite("compare", MODEL / "keras3.h5", "--data", data, "--labels", labels, "--preprocess", "torch",
                 "--out", folder, "--variants", "float32")
    names = [line.split(",")[0].replace(".dcm", ".png") for line in (DATA / "dicom_labels.csv").read_text().splitlines()[1:]]
    labels = tmp_path / "labels.csv"
    lines = (DATA / "test_labels.csv").read_text().splitlines()
    labels.write_text("\n".join([lines[0]] + [line for line in lines[1:] if line.split(",")[0] in names]) + "\n")
    h5tolite("compare", MODEL / "keras3.h5", "--data", DATA / "test", "--labels", labels, "--preprocess", "torch",
             "--out", png, "--variants", "float32")
    a = json.loads((dicom / "results.json").read_text())["rows"][1]["metric"]
    b = json.loads((png / "results.json").read_text())["rows"][1]["metric"]
    assert a == pytest.approx(b, abs=1e-6)


def test_max_drop_keeps_layers_in_float_until_the_drop_is_allowed(tmp_path):
    out = tmp_path / "int8.tflite"
    result = h5tolite("convert", MODEL / "keras3.h5", "-o", out, "--quantize", "int8",
                      "--calibration", DATA / "calibration", "--preprocess", "torch",
                      "--data", DATA / "test_noisy", "--labels", DATA / "test_noisy_labels.csv", "--max-drop", "0.0045")
    lines = [line for line in result.stdout.splitlines() if line.startswith("max-drop: kept in float32:")]
    assert lines and "nothing" not in lines[0]
    final = float(lines[0].rsplit(" ", 1)[1])
    assert final <= 0.0045 + 1e-9
    assert out.exists()


def test_verify_prints_the_worst_layers_of_an_int8_model(tmp_path):
    result = h5tolite("convert", GOLDEN / "chexnet_nested" / "keras3.h5", "-o", tmp_path / "q.tflite",
                      "--quantize", "int8", "--calibration", GOLDEN / "chexnet_nested" / "calibration.npy", "--verify")
    table = result.stdout.split("per-layer error against float32")[1].splitlines()
    assert table[1].startswith("| layer | mean abs error | max abs error | RMSE (steps) |")
    rmse = [float(row.split("|")[4]) for row in table[3:] if row.startswith("| ")]
    assert rmse == sorted(rmse, reverse=True) and rmse[0] > 0


@pytest.mark.parametrize("variant", ["int8+int8-head", "int8+bias-correction"])
def test_int8_options_are_compared_side_by_side(variant, results):
    assert results[variant]["bytes"] == pytest.approx(results["int8"]["bytes"], rel=0.05)
    assert results[variant]["metric"] >= results["original (Keras)"]["metric"] - 0.005
