"""--sparse-weights: a pruned golden model stored in TFLite's sparse format runs in LiteRT as its
dense file does (bit for bit on TFLite's own kernels; XNNPACK, LiteRT's default, runs sparse
weights with kernels of its own that sum in another order), and is smaller by what the zeros no
longer take; h5tolite lays the weights out
as TensorFlow's converter does, and runs TensorFlow's own sparse file (fixtures/sparse, made by
fixtures/sparse/generate.py from the golden layers_conv model)."""
import json
import random
import sys

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from conftest import GOLDEN, ROOT, h5tolite
from test_convert import relative_error, run_litert
from test_interpreter import run_ours

TRAINED = GOLDEN / "chexnet_trained"
FIXTURES = ROOT / "Tests" / "e2e" / "fixtures" / "sparse"
ELEMENT_BYTES = {"FLOAT32": 4, "FLOAT16": 2}
# What one sparse tensor adds to the file besides its indices: its sparsity tables, and the
# DENSIFY operator with its output tensor (name, shape, vtables), bounded from above.
PER_TENSOR_BYTES = 320


def run_builtin(path, inputs):
    """LiteRT's own kernels, without the XNNPACK delegate."""
    return run_litert(path, inputs, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def sparse_tensors(path):
    return json.loads(h5tolite("inspect", path, "--json").stdout)["header"].get("sparseTensors", [])


def index_bytes(largest):
    return 1 if largest <= 0xFF else 2 if largest <= 0xFFFF else 4


def bytes_saved_bounds(tensors):
    """Bytes the sparse tensors save at least and at most: the values they no longer store, less
    (for the lower bound) their CSR indices, segments and per-tensor overhead."""
    dropped = sum((t["elements"] - t["storedValues"]) * ELEMENT_BYTES[t["type"]] for t in tensors)
    overhead = 0
    for t in tensors:
        rows = t["elements"] // t["shape"][-1]
        overhead += t["storedValues"] * index_bytes(t["shape"][-1] - 1) + (rows + 1) * index_bytes(t["storedValues"])
        overhead += PER_TENSOR_BYTES
    return dropped - overhead, dropped


@pytest.mark.parametrize("quantize", ["none", "float16"])
@pytest.mark.parametrize("sparsity", ["0.5", "0.8"])
def test_pruned_sparse_file_runs_in_litert_as_the_dense_one_and_is_smaller(sparsity, quantize, tmp_path):
    dense, sparse = tmp_path / "dense.tflite", tmp_path / "sparse.tflite"
    common = ["--prune", sparsity, "--prune-ends", "--quantize", quantize]
    h5tolite("convert", TRAINED / "keras3.h5", "-o", dense, *common)
    result = h5tolite("convert", TRAINED / "keras3.h5", "-o", sparse, *common, "--sparse-weights")
    assert "sparse-weights: 22 weight tensor(s) stored sparse" in result.stdout, result.stdout
    inputs = np.load(TRAINED / "input.npy")
    assert np.array_equal(run_builtin(sparse, inputs), run_builtin(dense, inputs))
    expected = run_litert(dense, inputs)
    assert relative_error(run_litert(sparse, inputs), expected) <= 1e-6
    ours = run_ours(sparse, inputs, tmp_path)
    assert np.array_equal(ours, run_ours(dense, inputs, tmp_path))
    assert relative_error(ours, expected) <= 1e-5
    tensors = sparse_tensors(sparse)
    assert len(tensors) == 22
    low, high = bytes_saved_bounds(tensors)
    saved = dense.stat().st_size - sparse.stat().st_size
    assert low <= saved <= high, (low, saved, high)


@pytest.mark.parametrize("model,quantize", [("chexnet_trained", "dynamic"), ("chexnet_trained", "int8"),
                                            ("mini_densenet", "dynamic")])
def test_int8_weights_stay_dense_and_litert_runs_the_file(model, quantize, tmp_path):
    """int8 weights stay dense; the float weights a hybrid model keeps (under 1024 elements, as
    mini_densenet's) are still stored sparse, and LiteRT runs the file."""
    dense, sparse = tmp_path / "dense.tflite", tmp_path / "sparse.tflite"
    common = ["--prune", "0.5", "--prune-ends", "--quantize", quantize, "--calibration", GOLDEN / model / "input.npy"]
    h5tolite("convert", GOLDEN / model / "keras3.h5", "-o", dense, *common)
    result = h5tolite("convert", GOLDEN / model / "keras3.h5", "-o", sparse, *common, "--sparse-weights")
    assert "int8 weight tensor(s) kept dense" in result.stdout, result.stdout
    tensors = sparse_tensors(sparse)
    assert all(t["type"] == "FLOAT32" for t in tensors)
    assert (len(tensors) > 0) == (model == "mini_densenet")
    inputs = np.load(GOLDEN / model / "input.npy")
    assert np.array_equal(run_builtin(sparse, inputs), run_builtin(dense, inputs))
    assert relative_error(run_litert(sparse, inputs), run_litert(dense, inputs)) <= 1e-6


def layouts(path):
    return sorted((t["shape"], t["type"], t["storedValues"], t["layout"]) for t in sparse_tensors(path))


def test_our_layouts_are_tensorflows_and_litert_reads_them(tmp_path):
    dense, sparse = tmp_path / "dense.tflite", tmp_path / "sparse.tflite"
    h5tolite("convert", FIXTURES / "pruned.keras", "-o", dense)
    result = h5tolite("convert", FIXTURES / "pruned.keras", "-o", sparse, "--sparse-weights")
    assert "1 blocks 1x4, read by FULLY_CONNECTED, 7 csr + DENSIFY" in result.stdout, result.stdout
    assert layouts(sparse) == layouts(FIXTURES / "tf_sparse.tflite")
    inputs = np.load(GOLDEN / "layers_conv" / "input.npy")
    # TFLite's sparse FULLY_CONNECTED kernel sums only the kept 1x4 blocks, in an order of its own.
    assert relative_error(run_builtin(sparse, inputs), run_builtin(dense, inputs)) <= 1e-6
    outputs = run_litert(sparse, inputs)
    assert relative_error(outputs, run_litert(dense, inputs)) <= 1e-6
    assert relative_error(outputs, np.load(FIXTURES / "output.npy")) <= 1e-5
    assert relative_error(run_ours(sparse, inputs, tmp_path), outputs) <= 1e-5


def test_tensorflows_sparse_file_runs_in_the_bundled_interpreter(tmp_path):
    tf_file = FIXTURES / "tf_sparse.tflite"
    inputs = np.load(GOLDEN / "layers_conv" / "input.npy")
    ours = run_ours(tf_file, inputs, tmp_path)
    assert relative_error(ours, np.load(FIXTURES / "output.npy")) <= 1e-5
    assert relative_error(ours, run_litert(tf_file, inputs)) <= 1e-5
    listing = h5tolite("inspect", tf_file).stdout
    assert "levels dense 10 / csr / dense 4, blocks 4 on axis 1" in listing, listing


def test_damaged_sparse_files_are_one_line_errors(tmp_path):
    """TensorFlow's sparse fixture, truncated and with bytes flipped or spliced as
    scripts/mutate_corpus.py damages the golden files: never a crash, a one-line error naming
    the file (mostly the tensor and sparsity field) or a run."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from mutate_corpus import mutate
    from test_hostile_files import check, run

    original = (FIXTURES / "tf_sparse.tflite").read_bytes()
    rng = random.Random(18)
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.load(GOLDEN / "layers_conv" / "input.npy")[:1])
    for index in range(60):
        path = tmp_path / f"mutant{index:02d}.tflite"
        path.write_bytes(mutate(original, rng))
        check(run("inspect", path), path)
        check(run("run", path, "--input", x, "--output", y), path, y)
        y.unlink(missing_ok=True)


def test_int8_dense_layers_read_16_wide_blocks_directly(tmp_path):
    """An int8 FULLY_CONNECTED whose weights are zero in 1x16 blocks reads them itself, with no
    DENSIFY, as TensorFlow writes it; LiteRT runs it with its default delegate."""
    model, inputs = FIXTURES / "blocks16.keras", FIXTURES / "blocks16_input.npy"
    dense, sparse = tmp_path / "dense.tflite", tmp_path / "sparse.tflite"
    common = ["--quantize", "int8", "--calibration", inputs]
    h5tolite("convert", model, "-o", dense, *common)
    result = h5tolite("convert", model, "-o", sparse, *common, "--sparse-weights")
    assert "2 weight tensor(s) stored sparse (2 blocks 1x16, read by FULLY_CONNECTED)" in result.stdout, result.stdout
    assert all(t["layout"].endswith("blocks 16 on axis 1") for t in sparse_tensors(sparse))
    samples = np.load(inputs)
    outputs = run_litert(sparse, samples)
    assert np.array_equal(run_ours(sparse, samples, tmp_path), run_ours(dense, samples, tmp_path))
    assert relative_error(run_ours(sparse, samples, tmp_path), run_builtin(sparse, samples)) <= 1e-6
    # LiteRT's dense int8 kernels round a step apart from its reference arithmetic, as for every int8 file.
    step = next(d["quantization"][0] for d in Interpreter(model_path=str(sparse)).get_tensor_details()
                if d["name"] == "logits/int8")
    assert np.abs(outputs - run_litert(dense, samples)).max() <= 2 * step + 1e-7
