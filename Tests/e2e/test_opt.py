"""`h5tolite opt` reproduces every golden pass case from the command line, and
`convert --stop-after` hands its IR to `opt` so that the two together give the file
`convert` writes in one go."""
import pytest

from conftest import GOLDEN, ROOT, h5tolite

PASSES = ROOT / "golden" / "passes"


def pass_cases():
    return sorted(p for p in PASSES.glob("*/*.ir") if not p.name.endswith(".expected.ir"))


def case_line(text, name):
    prefix = f"# {name}:"
    return next((line[len(prefix):].strip() for line in text.splitlines() if line.startswith(prefix)), "")


@pytest.mark.parametrize("case", pass_cases(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_opt_reproduces_golden_pass_case(case, tmp_path):
    first = [name.strip() for name in case_line(case.read_text(), "first").split(",") if name.strip()]
    out = tmp_path / "out.ir"
    h5tolite("opt", case, "--pass", ",".join(first + [case.parent.name]), "-o", out)
    assert out.read_text() == case.with_suffix(".expected.ir").read_text()


def test_stop_after_then_opt_gives_the_same_graph(tmp_path):
    model = GOLDEN / "mini_densenet" / "keras3.h5"
    h5tolite("convert", model, "-o", tmp_path / "lowered.ir", "--stop-after", "fold-batchnorm")
    text = (tmp_path / "lowered.ir").read_text()
    assert "batch_norm(" not in text and "conv2d(" in text
    h5tolite("opt", tmp_path / "lowered.ir", "--pass", "fuse-activations,fold-padding", "-o", tmp_path / "finished.ir")
    h5tolite("convert", model, "-o", tmp_path / "whole.ir", "--stop-after", "fold-padding")
    assert (tmp_path / "finished.ir").read_text() == (tmp_path / "whole.ir").read_text()


def test_stop_after_a_pass_the_pipeline_does_not_run_is_refused(tmp_path):
    result = h5tolite("convert", GOLDEN / "mini_densenet" / "keras3.h5", "-o", tmp_path / "x.ir",
                      "--stop-after", "quantize-int8", check=False)
    assert result.returncode != 0
    assert "no pass named 'quantize-int8'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.ir").exists()


def test_print_after_change_prints_only_passes_that_changed_the_graph(tmp_path):
    model = GOLDEN / "mini_densenet" / "keras3.h5"
    changed = h5tolite("convert", model, "-o", tmp_path / "a.tflite", "--print-after-change").stderr
    every = h5tolite("convert", model, "-o", tmp_path / "b.tflite", "--print-after-all").stderr
    printed = [line for line in changed.splitlines() if line.startswith("// after ")]
    assert len(printed) < len([line for line in every.splitlines() if line.startswith("// after ")])
    # The model has no Dropout or constant subgraph, so the first two passes change nothing.
    assert "// after fold-batchnorm" in printed and "// after constant-folding" not in printed


def test_opt_refuses_unknown_pass_and_option(tmp_path):
    case = PASSES / "fold-batchnorm" / "conv.ir"
    for flags, message in [(["--pass", "no-such-pass"], "no pass named 'no-such-pass'"),
                           (["--pass", "fold-batchnorm", "--options", "sparsity=3"], "unknown option 'sparsity'")]:
        result = h5tolite("opt", case, *flags, "-o", tmp_path / "out.ir", check=False)
        assert result.returncode != 0 and message in result.stderr
        assert not (tmp_path / "out.ir").exists()
