"""Damaged files made from golden files (scripts/mutate_corpus.py): h5tolite never crashes or
hangs on them; every failure is a one-line error naming the file, and leaves no output."""
import pathlib
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, binary

COUNT = 100


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "mutate_corpus.py"), str(folder), "--count", str(COUNT)],
                   check=True)
    return folder


def run(*args):
    return subprocess.run([str(binary()), *map(str, args)], capture_output=True, text=True, timeout=60)


def check(result, path, out=None):
    assert result.returncode >= 0, f"{path.name} killed by signal {-result.returncode}"
    assert result.returncode in (0, 1), f"{path.name}: exit {result.returncode}"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], f"{path.name}: {result.stderr!r}"
        if out is not None:
            assert not out.exists()


@pytest.mark.parametrize("kind", ["h5", "keras"])
def test_damaged_keras_files(kind, corpus, tmp_path):
    files = sorted((corpus / kind).iterdir())
    assert len(files) == COUNT
    for path in files:
        out = tmp_path / "out.tflite"
        check(run("convert", path, "-o", out), path, out)
        out.unlink(missing_ok=True)


def test_damaged_tflite_files(corpus, tmp_path):
    files = sorted((corpus / "tflite").iterdir())
    assert len(files) == COUNT
    x = tmp_path / "x.npy"
    import numpy as np
    np.save(x, np.zeros((1, 32, 32, 3), np.float32))
    for path in files:
        check(run("inspect", path), path)
        y = tmp_path / "y.npy"
        check(run("run", path, "--input", x, "--output", y), path, y)
        y.unlink(missing_ok=True)


FUZZ_FINDINGS = ROOT / "Tests" / "e2e" / "fixtures" / "fuzz"


@pytest.mark.parametrize("name", sorted(p.name for p in FUZZ_FINDINGS.glob("*.h5")))
def test_files_the_fuzzer_found(name, tmp_path):
    """Keras files FuzzKerasFile recorded, each a fault inside libhdf5 under AddressSanitizer: a
    2^50-byte allocation, reads past a heap block (H5HG_read, H5MM_strdup), a segfault in
    H5HG_read, and an endless loop reading a variable-length string attribute (the child
    process's deadline ends it, after 30 s)."""
    path = FUZZ_FINDINGS / name
    out = tmp_path / "out.tflite"
    result = run("convert", path, "-o", out)
    assert result.returncode == 1
    check(result, path, out)
