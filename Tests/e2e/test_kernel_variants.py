"""The interpreter's inner loops come in one variant per instruction set (AVX-512 with and without
VNNI, AVX2, portable C), chosen at run time. Every variant this machine can run must give the same
bits as the best one: floats are summed in one order with fused multiply-adds everywhere, integers
exactly. That also keeps conversions that calibrate on the interpreter reproducible across machines."""
import functools
import os
import re
import subprocess

import numpy as np
import pytest

from conftest import GOLDEN, binary

VARIANTS = ("portable", "avx2", "avx512", "avx512vnni")
MODELS = ("mini_densenet", "mini_inception", "mini_mobilenetv2", "mini_vit")


def kernels_used(variant):
    """The variant h5tolite runs when asked for `variant` (the best it has if the machine lacks it)."""
    model = GOLDEN / "mini_densenet" / "tf.tflite"
    result = subprocess.run([str(binary()), "bench", str(model), "--runs", "1"], capture_output=True, text=True,
                            env={**os.environ, "H5TOLITE_KERNELS": variant}, check=True)
    return re.search(r"(\w+) kernels\)", result.stdout).group(1)


def run(variant, model, tmp_path):
    x, y = tmp_path / "x.npy", tmp_path / f"y_{variant}.npy"
    np.save(x, np.load(GOLDEN / model[0] / "input.npy"))
    subprocess.run([str(binary()), "run", str(GOLDEN / model[0] / model[1]), "--input", str(x), "--output", str(y),
                    "--threads", "2"], env={**os.environ, "H5TOLITE_KERNELS": variant}, check=True)
    return np.load(y)


@functools.cache
def available():
    return [variant for variant in VARIANTS if kernels_used(variant) == variant]


@pytest.mark.parametrize("model", [(name, f) for name in MODELS for f in ("tf.tflite", "tf_int8.tflite")
                                   if (GOLDEN / name / f).exists()])
def test_every_kernel_variant_gives_the_same_bits(model, tmp_path):
    variants = available()
    assert "portable" in variants
    best = run(variants[-1], model, tmp_path)
    for variant in variants[:-1]:
        np.testing.assert_array_equal(run(variant, model, tmp_path), best, err_msg=f"{variant} against {variants[-1]}")
