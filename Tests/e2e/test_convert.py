"""Every golden model converts from every format; LiteRT runs the result and matches Keras.

LiteRT (ai-edge-litert) is the referee: the expected outputs were written by Keras itself
(golden/generate.py), never by h5tolite.
"""
import json
import subprocess

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from conftest import EXPECTED, FORMATS, GOLDEN, ROOT, golden_cases, h5tolite

TOLERANCE = 1e-5


def run_litert(path, inputs, resolver=OpResolverType.AUTO):
    """LiteRT on each sample: by default with its XNNPACK delegate; `resolver` picks other kernels
    (BUILTIN_REF: TFLite's reference kernels; BUILTIN_WITHOUT_DEFAULT_DELEGATES: its own optimized ones)."""
    interpreter = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    outputs = []
    for sample in inputs:
        interpreter.set_tensor(input_detail["index"], sample[None].astype(np.float32))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_detail["index"])[0].copy())
    return np.stack(outputs)


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected) / np.maximum(1.0, np.abs(expected)))


def decode_with_flatc(path, tmp_path):
    subprocess.run(["flatc", "--json", "--raw-binary", "--strict-json", "-o", str(tmp_path),
                    str(ROOT / "schema" / "tflite.fbs"), "--", str(path)], check=True, capture_output=True)
    return json.loads((tmp_path / (path.stem + ".json")).read_text())


@pytest.mark.parametrize("model,fmt", golden_cases())
def test_litert_matches_keras(model, fmt, tmp_path):
    folder = GOLDEN / model
    out = tmp_path / f"{model}.tflite"
    h5tolite("convert", folder / fmt, "-o", out)
    inputs = np.load(folder / "input.npy")
    expected = np.load(folder / EXPECTED[fmt])
    actual = run_litert(out, inputs)
    assert actual.shape == expected.shape
    assert relative_error(actual, expected) <= TOLERANCE


@pytest.mark.parametrize("model,fmt", golden_cases())
def test_flatc_decodes_and_layout_matches_tf(model, fmt, tmp_path):
    out = tmp_path / f"{model}.tflite"
    h5tolite("convert", GOLDEN / model / fmt, "-o", out)
    decoded = decode_with_flatc(out, tmp_path)
    assert decoded["version"] == 3
    assert decoded["buffers"][0] == {}
    (signature,) = decoded["signature_defs"]
    assert signature["signature_key"] == "serving_default"
    metadata = {m["name"]: m["buffer"] for m in decoded["metadata"]}
    runtime = bytes(decoded["buffers"][metadata["min_runtime_version"]]["data"]).rstrip(b"\0").decode()
    assert runtime.count(".") == 2
    (subgraph,) = decoded["subgraphs"]
    for index in subgraph["inputs"] + subgraph["outputs"]:
        tensor = subgraph["tensors"][index]
        assert tensor["shape"][0] == 1 and tensor["shape_signature"][0] == -1
    for start, length in buffer_data_positions(out.read_bytes()):
        assert start % 16 == 0, f"buffer data at {start} is not 16-byte aligned"


def buffer_data_positions(raw):
    """(start, length) of every Buffer.data vector, found by walking the flatbuffer by hand."""
    def u32(pos):
        return int.from_bytes(raw[pos:pos + 4], "little")

    def field(table, slot):
        vtable = table - int.from_bytes(raw[table:table + 4], "little", signed=True)
        entry = 4 + 2 * slot
        if entry >= int.from_bytes(raw[vtable:vtable + 2], "little"):
            return None
        offset = int.from_bytes(raw[vtable + entry:vtable + entry + 2], "little")
        return table + offset if offset else None

    model = u32(0)
    buffers = field(model, 4)  # Model.buffers
    vector = buffers + u32(buffers)
    for index in range(u32(vector)):
        element = vector + 4 + 4 * index
        buffer = element + u32(element)
        data = field(buffer, 0)  # Buffer.data
        if data is not None:
            data_vector = data + u32(data)
            if u32(data_vector):
                yield data_vector + 4, u32(data_vector)


def test_all_formats_give_the_same_file():
    """tf.keras 2 .h5, Keras 3 .h5 and .keras hold the same model: the IR must agree."""
    folder = GOLDEN / "mini_densenet"
    dumps = []
    for fmt in FORMATS:
        dumps.append(h5tolite("inspect", folder / fmt).stdout.split("\n", 1)[1])
    assert dumps[0] == dumps[1] == dumps[2]


@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_inspect_json_agrees_with_litert(quantize, tmp_path):
    """`inspect --json` of a file we wrote: LiteRT's own reading of the same file gives the same
    op sequence, input/output shapes and int8 quantization parameters."""
    folder = GOLDEN / "mini_densenet"
    out = tmp_path / "m.tflite"
    args = ["--quantize", "int8", "--calibration", folder / "calibration.npy"] if quantize == "int8" else []
    h5tolite("convert", folder / "keras3.h5", "-o", out, *args)
    described = json.loads(h5tolite("inspect", out, "--json").stdout)
    interpreter = Interpreter(model_path=str(out), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    assert described["header"]["format"] == "TFLite" and described["header"]["bytes"] == out.stat().st_size
    assert sum(code["uses"] for code in described["header"]["operatorCodes"]) == len(ops) == len(described["ops"])
    tensors = {t["name"]: t for t in interpreter.get_tensor_details()}
    tensor_names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    for op, reference in zip(described["ops"], ops):
        assert [t["name"] for t in op["outputs"]] == [tensor_names[i] for i in reference["outputs"]]
        for tensor in op["outputs"]:
            expected = tensors[tensor["name"]]
            assert list(expected["shape"][1:]) == tensor["shape"][1:]
            if tensor.get("scales"):
                assert expected["quantization_parameters"]["scales"] == pytest.approx(tensor["scales"])
                assert list(expected["quantization_parameters"]["zero_points"]) == tensor["zeroPoints"]
    (inp,) = interpreter.get_input_details()
    assert described["inputs"][0]["shape"][1:] == list(inp["shape"][1:])
    keras = json.loads(h5tolite("inspect", folder / "keras3.h5", "--json").stdout)
    assert keras["header"]["format"] == "Keras 3 legacy .h5" and keras["header"]["kerasVersion"]
